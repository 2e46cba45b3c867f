"""Command-line tools the gates run as subprocesses.

Tools installed with release_assets (ruff, sqlfluff, bandit, detect-secrets) run from this
interpreter's environment. checkov pins its own ``hcl2`` module, which would shadow
python-hcl2 here, so it lives in a tool virtualenv of its own, built once with uv and reused.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from uv import find_uv_bin

from release_assets.runtimes.locks import exclusive
from release_assets.validation.findings import GateCrashed

CHECKOV = "checkov==3.3.30"
_COMPLETE = ".complete"


def bundled(tool: str) -> str:
    """The path of a console script installed beside this interpreter."""
    path = Path(sys.executable).with_name(tool)
    if not path.exists():
        raise GateCrashed(f"{tool} is not installed beside {sys.executable}")
    return str(path)


@dataclass(frozen=True)
class ToolResult:
    returncode: int
    stdout: str
    stderr: str


def run_tool(
    cmd: list[str], cwd: Path, timeout_s: float, env: dict[str, str] | None = None
) -> ToolResult:
    """Run a tool with a bound on its time; a timeout is a ``GateCrashed`` naming the tool."""
    try:
        done = subprocess.run(
            cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout_s, check=False, env=env
        )
    except subprocess.TimeoutExpired:
        raise GateCrashed(f"{Path(cmd[0]).name} timed out after {timeout_s:.0f}s") from None
    except FileNotFoundError:
        raise GateCrashed(f"{cmd[0]} is not installed") from None
    return ToolResult(done.returncode, done.stdout, done.stderr)


def ensure_tool_venv(tools_dir: Path, specs: list[str], timeout_s: float = 900) -> Path:
    """The ``bin`` folder of a virtualenv holding ``specs`` (built once per distinct list)."""
    key = hashlib.sha256("\n".join(sorted(specs)).encode()).hexdigest()[:12]
    root = tools_dir / f"tool-{key}"
    if (root / _COMPLETE).exists():
        return root / "bin"
    tools_dir.mkdir(parents=True, exist_ok=True)
    with exclusive(root.with_suffix(".lock"), timeout_s, f"the build of {root}"):
        if not (root / _COMPLETE).exists():
            _build_tool_venv(root, specs, timeout_s)
    return root / "bin"


def _build_tool_venv(root: Path, specs: list[str], timeout_s: float) -> None:
    uv = find_uv_bin()
    steps = [
        [uv, "venv", "--quiet", "--clear", "--python", sys.executable, str(root)],
        [uv, "pip", "install", "--quiet", "--python", str(root / "bin" / "python"), *specs],
    ]
    for step in steps:
        try:
            done = subprocess.run(
                step, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            raise GateCrashed(f"installing {specs} timed out after {timeout_s:.0f}s") from None
        if done.returncode != 0:
            raise GateCrashed(f"cannot install {specs}: {done.stderr.strip()[-1500:]}")
    (root / _COMPLETE).write_text("\n".join(specs) + "\n")


def checkov_bin(tools_dir: Path) -> str:
    return str(ensure_tool_venv(tools_dir, [CHECKOV]) / "checkov")
