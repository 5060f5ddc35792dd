"""Views: markdown size limits and structure, colour only on a terminal, the confirmation prompt."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
from pathlib import Path

from reconciler.plan.diff import FieldDiff
from reconciler.plan.model import Action, BlockedDelete, Change, Plan, Unmanaged
from reconciler.views import plan_markdown
from tests.conftest import REPO


def big_plan(changes: int) -> Plan:
    plan = Plan("s", "local:x.db", "", True, environment="prod")
    for index in range(changes):
        plan.changes.append(
            Change(
                name=f"routine-{index:04d}",
                action=Action.UPDATE,
                reason="changed",
                diff=[FieldDiff(("action", "input"), "x" * 150, "y" * 150)],
            )
        )
    plan.unmanaged.append(Unmanaged("hand-made", "created outside the reconciler"))
    plan.blocked.append(BlockedDelete("guarded", "protected"))
    return plan


def test_markdown_has_a_summary_row_per_environment_and_a_block_per_change() -> None:
    text = plan_markdown.render([("dev", big_plan(2)), ("prod", big_plan(3))])
    assert text.startswith("<!-- reconciler-plan -->\n## Reconciler plan")
    assert "| dev | `local:x.db` | 0 | 2 | 0 | 0 | 1 | 1 |" in text
    assert "| prod | `local:x.db` | 0 | 3 | 0 | 0 | 1 | 1 |" in text
    assert text.count("<details><summary>") == 5
    assert "**Unmanaged routines** (left untouched):" in text
    assert "**Deletes blocked by safety rules**:" in text


def test_markdown_stays_under_the_comment_limit_with_a_pointer() -> None:
    text = plan_markdown.render([("prod", big_plan(2000))], "the plan-prod artifact")
    assert len(text) < plan_markdown.COMMENT_LIMIT
    assert text.rstrip().endswith("The full report is in the plan-prod artifact.")
    assert "| prod |" in text  # the summary table always survives


def test_markdown_rows_are_in_environment_order_and_quotes_stay_readable() -> None:
    plan = big_plan(1)
    plan.unmanaged[0] = Unmanaged("theirs", "owned by stack 'other-team'", "other-team")
    text = plan_markdown.render([("prod", plan)], missing=["dev"])
    assert text.index("| dev | **no plan") < text.index("| prod |")
    assert "owned by stack 'other-team'" in text


def test_markdown_escapes_html_and_table_pipes() -> None:
    plan = Plan("s", "t", "", False)
    plan.changes.append(
        Change(
            name="r",
            action=Action.UPDATE,
            reason="a <b>|c</b>",
            diff=[FieldDiff(("description",), "x|y", "`z`")],
        )
    )
    text = plan_markdown.render([("e", plan)])
    assert "a &lt;b&gt;\\|c&lt;/b&gt;" in text
    assert "<b>|c</b>" not in text


def run_in_terminal(
    args: list[str], env: dict[str, str], answer: bytes | None = None, cwd: Path = REPO
) -> tuple[int, bytes]:
    """Run the CLI with a pseudo-terminal as stdin/stdout (what a person at a shell has)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        env=env,
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    output = b""
    answered = answer is None
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        if not answered and b"Enter a value" in output:
            os.write(leader, answer or b"")
            answered = True
    os.close(leader)
    return process.wait(timeout=60), output


def terminal_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "GITHUB_ACTIONS")}
    env.update({"TERM": "xterm-256color", "COLUMNS": "200"}, **extra)
    return env


def test_colour_on_a_terminal_and_never_with_no_color(tmp_path: Path) -> None:
    args = ["plan", str(REPO / "manifests"), "--endpoint", f"local:{tmp_path}/p.db"]
    code, coloured = run_in_terminal(args, terminal_env())
    assert code == 0 and b"\x1b[" in coloured
    code, plain = run_in_terminal(args, terminal_env(NO_COLOR="1"))
    assert code == 0 and b"\x1b[" not in plain and b"Plan: 11 to create" in plain
    piped = subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=REPO,
        env=terminal_env(),
        capture_output=True,
        check=False,
    )
    assert piped.returncode == 0 and b"\x1b[" not in piped.stdout


def test_apply_asks_on_a_terminal_and_only_yes_applies(tmp_path: Path) -> None:
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    args = ["apply", "manifests", "--endpoint", f"local:{tmp_path}/p.db"]
    code, output = run_in_terminal(args, terminal_env(NO_COLOR="1"), b"no\n", cwd=tmp_path)
    assert code == 1 and b"apply cancelled; nothing was changed" in output
    code, output = run_in_terminal(args, terminal_env(NO_COLOR="1"), b"yes\n", cwd=tmp_path)
    assert code == 0, output.decode()
    assert b"Do you want to perform these actions? Only 'yes' will be accepted." in output
    assert b"Apply complete: 11 created" in output
