"""Load and validate N synthetic routines (files of 50) and compare with YAML parsing alone.

    python benchmarks/bench_validate.py [--routines 100,1000,5000] [--repeat 3]

For each N it reports the wall time of ``reconciler.manifest.loader.load`` (read files, YAML,
interpolation, schema check, service rules, models, unique names), the time of
``reconciler.manifest.yamlsafe.load_documents`` alone over the same texts, and a breakdown of the
rest by calling the loader's own steps on the same data: the schema gate the loader runs
(``loader._schema_problems``: the strict ``ManifestDocument`` model; jsonschema only when that
model rejects the document), JSON Schema itself (``schema_errors.problems``, what a document the
strict model rejects costs on top), the service rules (``rules.check_routine``) and the pydantic
models. docs/design.md, "Performance model": local work must stay small next to YAML parsing.

``check_cron`` caches its verdict per (expression, zone, hour of ``now``), so its cost depends on
the cache. "load s" and "rules s" clear that cache before every run, as a fresh ``reconciler
validate`` process starts with it empty (each distinct schedule is scanned once per run);
"load s, cron cached" leaves it filled by the previous run. The cron column shows three passes
over every schedule trigger: uncached (cache cleared before each call: the year scan every time,
what every call cost before the cache), cold (cleared once before the pass: one scan per
distinct schedule) and warm (every call a cache hit). Each number is the best of ``--repeat``
runs.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import (
    NOW,
    add_markdown_flag,
    add_schedule_flag,
    best_of,
    counts,
    manifest_texts,
    show,
    timed,
    use_repeated_schedules,
    write_manifests,
)

from reconciler.contract import limits
from reconciler.contract.cadence import _check_cached, check_cron
from reconciler.contract.cron import _parse
from reconciler.contract.rules import check_routine
from reconciler.contract.schema_errors import problems
from reconciler.manifest.loader import _schema_problems, load
from reconciler.manifest.models import RoutineSpec
from reconciler.manifest.schema import validator_for
from reconciler.manifest.yamlsafe import load_documents


def _documents(texts: list[str]) -> list[dict[str, Any]]:
    return [doc.data for text in texts for doc in load_documents(text)]


def _gate(datas: list[dict[str, Any]]) -> None:
    """The loader's schema step: strict model, jsonschema only for documents it rejects."""
    for data in datas:
        assert not _schema_problems(data)


def _jsonschema(datas: list[dict[str, Any]]) -> None:
    validator = validator_for("manifest")
    for data in datas:
        assert not problems(validator, data)


def _rules(datas: list[dict[str, Any]]) -> None:
    for data in datas:
        for raw in data["routines"]:
            assert not check_routine(
                raw, now=NOW, description_limit=limits.MANIFEST_DESCRIPTION_MAX
            )


def _schedules(datas: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(cron, zone) of every schedule trigger, in manifest order."""
    return [
        (trigger["cron_expression"], trigger["time_zone"])
        for data in datas
        for raw in data["routines"]
        for trigger in raw["triggers"].values()
        if trigger["type"] == "schedule"
    ]


def _crons(schedules: list[tuple[str, str]], *, uncached: bool = False) -> None:
    now = datetime.fromtimestamp(NOW, tz=UTC)
    for expr, zone in schedules:
        if uncached:
            _check_cached.cache_clear()
            _parse.cache_clear()
        assert not check_cron(expr, zone, now=now)


def _best_cold(repeat: int, run: Callable[[], object]) -> float:
    """Best of ``repeat`` runs, the cron cache cleared (untimed) before each."""
    times: list[float] = []
    for _ in range(max(1, repeat)):
        _check_cached.cache_clear()
        _parse.cache_clear()
        times.append(timed(run)[0])
    return min(times)


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
    total = _best_cold(repeat, run_load)
    total_cached = best_of(repeat, run_load)
    yaml_s = best_of(repeat, lambda: load_documents_all(texts))
    datas = _documents(texts)
    gate_s = best_of(repeat, lambda: _gate(datas))
    jsonschema_s = best_of(repeat, lambda: _jsonschema(datas))
    rules_s = _best_cold(repeat, lambda: _rules(datas))
    schedules = _schedules(datas)
    uncached_s = best_of(repeat, lambda: _crons(schedules, uncached=True))
    cold_s = _best_cold(repeat, lambda: _crons(schedules))
    warm_s = best_of(repeat, lambda: _crons(schedules))
    models_s = best_of(repeat, lambda: _models(datas))
    rest = total - yaml_s
    return [
        count,
        len(texts),
        f"{total:.3f}",
        f"{total_cached:.3f}",
        f"{total / count * 1e6:.0f}",
        f"{yaml_s:.3f}",
        f"{yaml_s / total:.0%}",
        f"{rest / yaml_s:.1f}x",
        f"{gate_s:.3f}",
        f"{jsonschema_s:.3f}",
        f"{rules_s:.3f}",
        f"{uncached_s:.3f} / {cold_s:.3f} / {warm_s:.4f}",
        f"{len(schedules)} / {len(set(schedules))}",
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
    add_schedule_flag(parser)
    add_markdown_flag(parser)
    args = parser.parse_args()
    use_repeated_schedules(args.repeated)
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        rows = [measure(n, args.repeat, Path(tmp)) for n in args.routines]
    show(
        f"load + validate (files of 50 routines, best of {args.repeat}; seconds unless noted)",
        [
            "N",
            "files",
            "load s",
            "load s, cron cached",
            "µs/routine",
            "YAML s",
            "YAML share",
            "rest/YAML",
            "schema gate s",
            "jsonschema s",
            "rules s",
            "cron s uncached / cold / warm",
            "schedules / distinct",
            "models s",
        ],
        rows,
        markdown=args.markdown,
    )


if __name__ == "__main__":
    main()
