"""The Airflow runtime virtualenv, built from the pipelines repository's requirements.

It is a separate Python environment from Dagster's, as MWAA's is: Airflow at the version
``release.yaml`` pins plus the repository's ``requirements.txt``. Each distinct combination is
built once into ``<state>/runtimes/<key>/`` and reused; a half-built one is rebuilt.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from uv import find_uv_bin

_COMPLETE = ".complete"


class RuntimeBuildError(RuntimeError):
    """The runtime requirements could not be installed."""


@dataclass(frozen=True)
class RuntimeVenv:
    root: Path

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin_dir / "python"

    @property
    def airflow(self) -> Path:
        return self.bin_dir / "airflow"

    def is_complete(self) -> bool:
        return (self.root / _COMPLETE).exists()


def requirement_lines(requirements: Path) -> list[str]:
    """The requirement specifiers of a requirements file (comments and blanks dropped)."""
    lines = []
    for raw in requirements.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def runtime_key(airflow_version: str, requirements: list[str]) -> str:
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    payload = "\n".join([f"python=={py}", f"apache-airflow=={airflow_version}", *requirements])
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def ensure_runtime(
    runtimes_dir: Path, airflow_version: str, requirements: Path, timeout_s: float = 1200
) -> RuntimeVenv:
    """Build (or reuse) the runtime venv for this Airflow version and requirements file."""
    reqs = requirement_lines(requirements)
    venv = RuntimeVenv(runtimes_dir / runtime_key(airflow_version, reqs))
    if venv.is_complete():
        return venv
    uv = find_uv_bin()
    runtimes_dir.mkdir(parents=True, exist_ok=True)
    specs = [f"apache-airflow=={airflow_version}", *reqs]
    steps = [
        [uv, "venv", "--quiet", "--clear", "--python", sys.executable, str(venv.root)],
        [uv, "pip", "install", "--quiet", "--python", str(venv.python), *specs],
    ]
    for step in steps:
        try:
            done = subprocess.run(
                step, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            raise RuntimeBuildError(
                f"building the Airflow runtime from {requirements} timed out after {timeout_s:.0f}s"
            ) from None
        if done.returncode != 0:
            raise RuntimeBuildError(
                f"cannot build the Airflow {airflow_version} runtime from {requirements}:\n"
                f"{done.stderr.strip()[-3000:]}"
            )
    lock = subprocess.run(
        [uv, "pip", "freeze", "--python", str(venv.python)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    (venv.root / "requirements.lock").write_text(lock.stdout)
    (venv.root / _COMPLETE).write_text("\n".join(specs) + "\n")
    return venv
