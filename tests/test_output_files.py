"""Output files (--out, --json-out, --audit-out, export --out): never written through a link or
over a device, folders created, failures one clear line before anything is applied."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.conftest import BASE_ROUTINE, apply_ok, run_cli


def _manifest(write: Callable[[str, str], Path]) -> Path:
    return write("m/a.yaml", BASE_ROUTINE)


def _plan_to(
    tmp_path: Path, manifest: Path, option: str, target: Path
) -> subprocess.CompletedProcess[str]:
    """``reconciler plan MANIFEST OPTION TARGET`` against a local project in ``tmp_path``."""
    endpoint = f"local:{tmp_path}/p.db"
    return run_cli("plan", str(manifest), "--endpoint", endpoint, option, str(target))


def _assert_clean_error(proc: subprocess.CompletedProcess[str], needle: str) -> None:
    assert proc.returncode == 1, proc.stderr
    assert needle in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "internal error" not in proc.stderr


def test_saved_plan_folder_is_created_and_file_is_private(
    tmp_path: Path, write: Callable[[str, str], Path]
) -> None:
    manifest = _manifest(write)
    out = tmp_path / "new" / "deeper" / "plan.json"
    proc = _plan_to(tmp_path, manifest, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert '"changes"' in out.read_text(encoding="utf-8")


def test_saved_plan_over_a_wider_file_becomes_private(
    tmp_path: Path, write: Callable[[str, str], Path]
) -> None:
    manifest = _manifest(write)
    out = tmp_path / "plan.json"
    out.write_text("old", encoding="utf-8")
    out.chmod(0o644)
    proc = _plan_to(tmp_path, manifest, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text(encoding="utf-8") != "old"


def test_saved_plan_is_never_written_through_a_symlink(
    tmp_path: Path, write: Callable[[str, str], Path]
) -> None:
    manifest = _manifest(write)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    link = tmp_path / "plan.json"
    link.symlink_to(victim)
    proc = _plan_to(tmp_path, manifest, "--out", link)
    _assert_clean_error(proc, f"cannot write {link}: it is a symbolic link")
    assert link.is_symlink()
    assert victim.read_text(encoding="utf-8") == "keep me"


def test_saved_plan_never_replaces_a_special_file(
    tmp_path: Path, write: Callable[[str, str], Path]
) -> None:
    manifest = _manifest(write)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for option in ("--out", "--json-out"):
        proc = _plan_to(tmp_path, manifest, option, fifo)
        _assert_clean_error(proc, f"cannot write {fifo}: it exists and is not a regular file")
        assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_output_under_a_file_is_a_clear_error(
    tmp_path: Path, write: Callable[[str, str], Path]
) -> None:
    manifest = _manifest(write)
    blocker = tmp_path / "blocker"
    blocker.write_text("", encoding="utf-8")
    target = blocker / "plan.json"
    for option in ("--out", "--json-out"):
        proc = _plan_to(tmp_path, manifest, option, target)
        _assert_clean_error(proc, f"cannot write {blocker}: it exists and is not a folder")


def test_unwritable_audit_path_stops_apply_before_any_change(
    tmp_path: Path, write: Callable[[str, str], Path]
) -> None:
    manifest = _manifest(write)
    blocker = tmp_path / "blocker"
    blocker.write_text("", encoding="utf-8")
    db = tmp_path / "p.db"
    proc = run_cli(
        "apply",
        str(manifest),
        "--endpoint",
        f"local:{db}",
        "--auto-approve",
        "--audit-out",
        str(blocker / "audit.json"),
    )
    _assert_clean_error(proc, f"cannot write {blocker}: it exists and is not a folder")
    assert not db.exists(), "nothing may be applied when the audit record cannot be written"


def test_audit_record_lands_in_a_new_folder(
    tmp_path: Path, write: Callable[[str, str], Path]
) -> None:
    manifest = _manifest(write)
    audit = tmp_path / "records" / "audit.json"
    proc = run_cli(
        "apply",
        str(manifest),
        "--endpoint",
        f"local:{tmp_path}/p.db",
        "--auto-approve",
        "--audit-out",
        str(audit),
    )
    assert proc.returncode == 0, proc.stderr
    assert '"r1"' in audit.read_text(encoding="utf-8")
    assert "Apply" in proc.stdout


def test_export_into_a_path_under_a_file_is_a_clear_error(
    tmp_path: Path, write: Callable[[str, str], Path]
) -> None:
    manifest = _manifest(write)
    db = tmp_path / "p.db"
    apply_ok(str(manifest), f"local:{db}", tmp_path)
    blocker = tmp_path / "blocker"
    blocker.write_text("", encoding="utf-8")
    proc = run_cli("export", "--endpoint", f"local:{db}", "--out", str(blocker / "exported"))
    _assert_clean_error(
        proc, f"cannot write {blocker / 'exported'}: part of the path is a file, not a folder"
    )
