"""Load and validate N synthetic routines (files of 50) and compare with YAML parsing alone.

    python benchmarks/bench_validate.py [--routines 100,1000,5000] [--repeat 3]

For each N it reports the wall time of ``reconciler.manifest.loader.load`` (read files, YAML,
interpolation, JSON Schema, service rules, models, unique names), the time of
``reconciler.manifest.yamlsafe.load_documents`` alone over the same texts, and a breakdown of the
rest by calling the loader's own steps on the same data: JSON Schema (``schema_errors.problems``),
the service rules (``rules.check_routine``; the part of it spent in ``cron.check_cron`` is shown
separately) and the pydantic models. DESIGN.md section 6: local work must stay small next to
YAML parsing. Each number is the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import NOW, add_markdown_flag, best_of, counts, manifest_texts, show, write_manifests

from reconciler.contract import limits
from reconciler.contract.cron import check_cron
from reconciler.contract.rules import check_routine
from reconciler.contract.schema_errors import problems
from reconciler.manifest.loader import load
from reconciler.manifest.models import RoutineSpec
from reconciler.manifest.schema import validator_for
from reconciler.manifest.yamlsafe import load_documents


def _documents(texts: list[str]) -> list[dict[str, Any]]:
    return [doc.data for text in texts for doc in load_documents(text)]


def _schema(datas: list[dict[str, Any]]) -> None:
    validator = validator_for("manifest")
    for data in datas:
        assert not problems(validator, data)


def _rules(datas: list[dict[str, Any]]) -> None:
    for data in datas:
        for raw in data["routines"]:
            assert not check_routine(
                raw, now=NOW, description_limit=limits.MANIFEST_DESCRIPTION_MAX
            )


def _crons(datas: list[dict[str, Any]]) -> int:
    now = datetime.fromtimestamp(NOW, tz=UTC)
    checked = 0
    for data in datas:
        for raw in data["routines"]:
            for trigger in raw["triggers"].values():
                if trigger["type"] == "schedule":
                    assert not check_cron(trigger["cron_expression"], trigger["time_zone"], now=now)
                    checked += 1
    return checked


def _models(datas: list[dict[str, Any]]) -> None:
    for data in datas:
        for raw in data["routines"]:
            RoutineSpec.model_validate(raw)


def measure(count: int, repeat: int, root: Path) -> list[object]:
    """One table row for ``count`` routines."""
    directory = root / f"n{count}"
    write_manifests(directory, count)
    texts = manifest_texts(count)

    def run_load() -> None:
        result = load([str(directory)], variables={}, now=NOW)
        assert result.ok, result.diagnostics[:3]
        assert len(result.routines) == count

    run_load()  # warm the caches every run would have (schema compilation, zone tables)
    total = best_of(repeat, run_load)
    yaml_s = best_of(repeat, lambda: load_documents_all(texts))
    datas = _documents(texts)
    schema_s = best_of(repeat, lambda: _schema(datas))
    rules_s = best_of(repeat, lambda: _rules(datas))
    cron_s = best_of(repeat, lambda: _crons(datas))
    models_s = best_of(repeat, lambda: _models(datas))
    rest = total - yaml_s
    return [
        count,
        len(texts),
        f"{total:.3f}",
        f"{total / count * 1e6:.0f}",
        f"{yaml_s:.3f}",
        f"{yaml_s / total:.0%}",
        f"{rest / yaml_s:.1f}x",
        f"{schema_s:.3f}",
        f"{rules_s:.3f}",
        f"{cron_s:.3f} ({_crons(datas)})",
        f"{models_s:.3f}",
    ]


def load_documents_all(texts: list[str]) -> None:
    """YAML parsing (with marks) of every text, as the loader does it."""
    for text in texts:
        load_documents(text)


def main() -> None:
    """Parse arguments, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--routines", type=counts, default=[100, 1000, 5000], help="N values")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    add_markdown_flag(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        rows = [measure(n, args.repeat, Path(tmp)) for n in args.routines]
    show(
        f"load + validate (files of 50 routines, best of {args.repeat}; seconds unless noted)",
        [
            "N",
            "files",
            "load s",
            "µs/routine",
            "YAML s",
            "YAML share",
            "rest/YAML",
            "schema s",
            "rules s",
            "cron s (schedules)",
            "models s",
        ],
        rows,
        markdown=args.markdown,
    )


if __name__ == "__main__":
    main()
