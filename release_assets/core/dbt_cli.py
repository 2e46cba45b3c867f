"""dbt commands on a release's dbt project (parse, state comparison, build), as bounded
subprocesses, and dbt's own error lines read back from its log.

dbt writes its target and logs into a scratch folder, never into the project, so a project in
an immutable bundle can be used as is. Which dbt runs is the caller's choice (``dbt``: the
executable, e.g. the one of the pipelines repository's runtime); by default the one installed
beside this interpreter.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from release_assets.settings import inherited_environment

_VOLATILE_KEYS = {
    "created_at",
    "generated_at",
    "invocation_id",
    "invocation_started_at",
    "run_started_at",
}
# One entry of dbt's file log: "14:27:25.635081 [error] [MainThread]: <text>" (colour codes
# may precede it); continuation lines carry no timestamp.
_LOG_LINE = re.compile(r"^(?:\x1b\[[\d;]*m)*\d\d:\d\d:\d\d(?:\.\d+)? \[(\w+)\s*\]")
_STDOUT_LINE = re.compile(r"^(?:\x1b\[[\d;]*m)*\d\d:\d\d:\d\d\s+")
_NOISE = ("Encountered an error:", "Completed with", "Done. PASS=", "compiled code at")
_VERSION = re.compile(r"Running with dbt=v?([\w.\-]+)")


class DbtError(RuntimeError):
    """A dbt command failed or timed out.

    ``errors`` holds dbt's own error entries of that run (each a block of lines, e.g.
    ``"Compilation Error\\n  Model 'model.p.fct_orders' (models/marts/fct_orders.sql) depends
    on a node named 'stg_orders' which is disabled"``), read from its log, else from its
    output; ``command`` the dbt sub-command (``parse``, ``ls``, ``build``...); ``timed_out``
    whether the run was stopped at its time limit; ``dbt_version`` the version that ran, when
    its log says. The message is one line naming the command and the first error, then every
    entry.
    """

    def __init__(
        self,
        command: str,
        project_dir: Path,
        errors: list[str],
        *,
        timed_out: bool = False,
        dbt_version: str | None = None,
    ) -> None:
        self.command = command
        self.project_dir = project_dir
        self.errors = errors
        self.timed_out = timed_out
        self.dbt_version = dbt_version
        first = " ".join(errors[0].split()) if errors else "no error text"
        head = f"dbt {command} failed on {project_dir}: {first}"
        super().__init__("\n".join([head, *errors[1:]]) if len(errors) > 1 else head)


def tool_dbt() -> Path:
    """The dbt installed beside this interpreter (the tool's own)."""
    return Path(sys.executable).with_name("dbt")


def error_entries(log: Path) -> list[str]:
    """The ``[error]`` entries of the last dbt invocation in its file log ``log``, each with
    its continuation lines (dbt's detail); run summaries, node-count lines and repeats are
    left out. [] when the log is missing or holds no error."""
    if not log.is_file():
        return []
    lines = log.read_text(errors="replace").splitlines()
    start = max((i for i, ln in enumerate(lines) if "Running with dbt=" in ln), default=0)
    blocks: list[list[str]] = []
    current: list[str] | None = None
    for line in lines[start:]:
        head = _LOG_LINE.match(line)
        if head:
            current = None
            if head.group(1) == "error":
                current = [line.split("]:", 1)[-1].strip()]
                blocks.append(current)
        elif current is not None and line.strip():
            current.append(line.rstrip())
    return _clean(blocks)


def _stdout_entries(stdout: str) -> list[str]:
    """Error entries of dbt's console output (no log levels there): the entry that says
    "Encountered an error" and every later one, with continuation lines."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    seen_error = False
    for line in stdout.splitlines():
        if _STDOUT_LINE.match(line):
            text = _STDOUT_LINE.sub("", line).strip()
            seen_error = seen_error or "error" in text.lower()
            current = [text] if seen_error else None
            if current is not None:
                blocks.append(current)
        elif current is not None and line.strip():
            current.append(line.rstrip())
    return _clean(blocks) or _crash_entry(stdout)


def _crash_entry(output: str) -> list[str]:
    """One entry for output with no dbt error entry: dbt itself crashed (a Python traceback:
    its last line, the exception, e.g. a package of the runtime dbt cannot work with), or the
    last lines of what it printed, as one block. [] for no output."""
    lines = [ln.rstrip() for ln in output.strip().splitlines() if ln.strip()]
    if not lines:
        return []
    if any(ln.startswith("Traceback (most recent call last)") for ln in lines):
        return [f"dbt crashed: {lines[-1].strip()}"]
    return ["\n".join(lines[-20:])]


def _clean(blocks: list[list[str]]) -> list[str]:
    out: list[str] = []
    for block in blocks:
        text = "\n".join(ln for ln in block if ln.strip() and not ln.strip().startswith(_NOISE))
        text = re.sub(r"\x1b\[[\d;]*m", "", text).strip()
        if text and text not in out and not text.startswith(("Failure in ", "[FAIL", "ERROR")):
            out.append(text)
    return [t for t in out if not re.match(r"^\d+ of \d+ ", t)]


def log_version(log: Path) -> str | None:
    """The dbt version a file log says ran last ("Running with dbt=1.11.16"), or None."""
    if not log.is_file():
        return None
    found = _VERSION.findall(log.read_text(errors="replace"))
    return str(found[-1]) if found else None


def run_dbt(
    args: list[str],
    project_dir: Path,
    profiles_dir: Path,
    target: str,
    env: dict[str, str],
    scratch: Path,
    timeout_s: float = 600,
    dbt: Path | None = None,
) -> str:
    """``dbt <args>`` on ``project_dir`` with its target and logs under ``scratch``; returns
    dbt's output. ``dbt`` is the executable (default: ``tool_dbt()``). Raises ``DbtError``
    carrying dbt's error entries when dbt exits non-zero or runs longer than ``timeout_s``."""
    scratch = scratch.absolute()
    scratch.mkdir(parents=True, exist_ok=True)
    cmd = [
        str((dbt or tool_dbt()).absolute()),
        *args,
        "--project-dir",
        str(project_dir.absolute()),
        "--profiles-dir",
        str(profiles_dir.absolute()),
        "--target",
        target,
        "--target-path",
        str(scratch / "target"),
        "--log-path",
        str(scratch / "logs"),
    ]
    full_env = {
        **inherited_environment(),
        **env,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PARTIAL_PARSE": "false",
        "DBT_USE_COLORS": "false",
    }
    log = scratch / "logs" / "dbt.log"
    try:
        done = subprocess.run(  # in scratch: a relative path in a profile lands there
            cmd,
            env=full_env,
            cwd=scratch,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DbtError(
            args[0],
            project_dir,
            [f"timed out after {timeout_s:.0f}s"],
            timed_out=True,
            dbt_version=log_version(log),
        ) from None
    if done.returncode != 0:
        errors = error_entries(log) or _stdout_entries(done.stdout + "\n" + done.stderr)
        raise DbtError(args[0], project_dir, errors, dbt_version=log_version(log))
    return done.stdout


def _scrub(value: Any, root: str) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v, root) for k, v in value.items() if k not in _VOLATILE_KEYS}
    if isinstance(value, list):
        return [_scrub(v, root) for v in value]
    if isinstance(value, str) and root in value:
        return value.replace(root, "<bundle>")
    return value


def normalized_manifest(manifest_path: Path, bundle_root: Path) -> str:
    """The manifest without timestamps, invocation ids or absolute paths: the same project
    always yields the same bytes, so the bundle digest is reproducible."""
    data = json.loads(manifest_path.read_text())
    return json.dumps(_scrub(data, str(bundle_root)), sort_keys=True, indent=1)


def modified_models(
    project_dir: Path,
    profiles_dir: Path,
    target: str,
    env: dict[str, str],
    state_manifest: str,
    scratch: Path,
    dbt: Path | None = None,
) -> list[str]:
    """Models changed against ``state_manifest`` and everything downstream of them (names).
    Raises ``DbtError`` with dbt's error entries when the project does not load."""
    state_dir = scratch / "state"
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "manifest.json").write_text(
        state_manifest.replace("<bundle>", str(project_dir.parent))
    )
    out = run_dbt(
        [
            "ls",
            "--resource-type",
            "model",
            "--select",
            "state:modified+",
            "--state",
            str(state_dir),
            "--output",
            "name",
            "--quiet",
        ],
        project_dir,
        profiles_dir,
        target,
        env,
        scratch,
        dbt=dbt,
    )
    return sorted({line.strip() for line in out.splitlines() if line.strip()})
