"""The Airflow runtime virtualenv, built from the pipelines repository's requirements.

It is a separate Python environment from Dagster's, as MWAA's is: Airflow at the version
``release.yaml`` pins plus the repository's ``requirements.txt``, installed with the
constraints the environments install with (``airflow.constraints`` and the file's own ``-c``
lines), as MWAA does. Each distinct combination is built once into
``<state>/runtimes/<key>/`` and reused; a half-built one is rebuilt.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from uv import find_uv_bin

from release_assets.config import ReleaseConfig
from release_assets.runtimes.locks import exclusive

_COMPLETE = ".complete"
AIRFLOW2_PLATFORM_PACKAGES = ("psycopg2-binary==2.9.10",)
"""What the local Airflow 2 environments need beyond the repository's requirements: the
PostgreSQL driver of their metadata DB (``local/airflow_instance.py``). 2.9.10 was the newest
release when Airflow 2.11 came out, the version its official constraints would pin (that file
cannot be downloaded here to check); the example's constraints do not pin it (the repository
never imports it), so it cannot conflict with them."""


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


def platform_packages(airflow_version: str) -> list[str]:
    """Requirement lines the platform adds to a runtime of ``airflow_version`` (Airflow 2:
    the metadata DB's driver; Airflow 3's local environments keep SQLite, nothing)."""
    return list(AIRFLOW2_PLATFORM_PACKAGES) if airflow_version.startswith("2.") else []


def runtime_key(
    airflow_version: str, requirements: list[str], constraints: list[str] | None = None
) -> str:
    """The runtime's folder name: a hash of Python's and Airflow's versions, the requirement
    lines, the platform's packages (``platform_packages``) and the texts of the constraints
    files (left out of the hash when there are none, so runtimes built without constraints
    keep their key)."""
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    lines = [f"python=={py}", f"apache-airflow=={airflow_version}", *requirements]
    payload = "\n".join([*lines, *platform_packages(airflow_version)])
    if constraints:
        digests = [hashlib.sha256(text.encode()).hexdigest() for text in constraints]
        payload += "\n" + "\n".join(f"constraints sha256={d}" for d in digests)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _constraint_texts(requirements: Path, constraints: Path | None) -> list[str]:
    """The texts of ``constraints`` and of the local files the requirements' ``-c`` lines name
    (relative to the requirements file, as pip and uv read them); URLs count by their line."""
    paths = [constraints] if constraints is not None else []
    for line in requirement_lines(requirements):
        parts = line.replace("=", " ", 1).split() if line.startswith("--constraint") else []
        parts = parts or (line.split(maxsplit=1) if line.startswith("-c") else [])
        if len(parts) == 2 and "://" not in parts[1]:
            paths.append(requirements.parent / parts[1].strip("\"'"))
    return [p.read_text(errors="replace") if p.is_file() else f"missing {p}" for p in paths]


def ensure_repo_runtime(runtimes_dir: Path, repo: Path, config: ReleaseConfig) -> RuntimeVenv:
    """The runtime venv of the pipelines repository at ``repo``: its Airflow version, its
    requirements and its constraints (``airflow.constraints``), as the environments install
    them. Every caller (validation, the release candidate, the local stack) goes through here
    so they agree on one runtime. Raises ``RuntimeBuildError`` as ``ensure_runtime``."""
    constraints = repo / config.airflow.constraints if config.airflow.constraints else None
    return ensure_runtime(
        runtimes_dir,
        config.airflow.version,
        repo / config.airflow.requirements,
        constraints=constraints,
    )


def ensure_runtime(
    runtimes_dir: Path,
    airflow_version: str,
    requirements: Path,
    timeout_s: float = 1200,
    constraints: Path | None = None,
) -> RuntimeVenv:
    """Build (or reuse) the runtime venv for this Airflow version and requirements file,
    installed with ``constraints`` (``airflow.constraints``) and the file's ``-c`` lines."""
    reqs = requirement_lines(requirements)
    key = runtime_key(airflow_version, reqs, _constraint_texts(requirements, constraints))
    venv = RuntimeVenv(runtimes_dir / key)
    if venv.is_complete():
        return venv
    runtimes_dir.mkdir(parents=True, exist_ok=True)
    # Concurrent builders (parallel test workers, two release steps) wait for the first one.
    with exclusive(venv.root.with_suffix(".lock"), timeout_s, f"the build of {venv.root}"):
        if not venv.is_complete():
            _build_runtime(venv, airflow_version, reqs, requirements, timeout_s, constraints)
    return venv


def _build_runtime(
    venv: RuntimeVenv,
    airflow_version: str,
    reqs: list[str],
    requirements: Path,
    timeout_s: float,
    constraints: Path | None = None,
) -> None:
    uv = find_uv_bin()
    platform = platform_packages(airflow_version)
    specs = [f"apache-airflow=={airflow_version}", *reqs, *platform]
    # The file itself (not its lines) so that uv reads -c/-r lines relative to it.
    install = [uv, "pip", "install", "--quiet", "--python", str(venv.python)]
    install += [specs[0], *platform, "-r", str(requirements.resolve())]
    if constraints is not None:
        install += ["--constraint", str(constraints.resolve())]
    steps = [
        [uv, "venv", "--quiet", "--clear", "--python", sys.executable, str(venv.root)],
        install,
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


def _purelib(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return Path(out.stdout.strip())


def ensure_test_runtime(
    runtime: RuntimeVenv, requirements: Path | None, timeout_s: float = 600
) -> RuntimeVenv:
    """A small venv layered on the runtime for the repository's own test suite.

    The runtime itself stays exactly what the environments run (as MWAA's would); the overlay
    sees the runtime's packages through a ``.pth`` file and adds only pytest and the
    repository's test requirements (``tests.requirements`` in release.yaml), resolved with the
    runtime's own pins (its ``requirements.lock``) as constraints: a test tool never brings a
    second, other version of a package the runtime has, which would shadow the runtime's copy
    (the overlay's site-packages comes first).
    """
    extra = requirement_lines(requirements) if requirements else []
    has_pytest = any(r.split("=")[0].strip() == "pytest" for r in extra)
    tools = extra if has_pytest else ["pytest", *extra]
    key = hashlib.sha256("\n".join(["constrained", *tools]).encode()).hexdigest()[:8]
    overlay = RuntimeVenv(runtime.root.with_name(f"{runtime.root.name}-tests-{key}"))
    if overlay.is_complete():
        return overlay
    with exclusive(overlay.root.with_suffix(".lock"), timeout_s, f"the build of {overlay.root}"):
        if not overlay.is_complete():
            _build_overlay(runtime, overlay, tools, timeout_s)
    return overlay


def _build_overlay(
    runtime: RuntimeVenv, overlay: RuntimeVenv, tools: list[str], timeout_s: float
) -> None:
    uv = find_uv_bin()
    create = [uv, "venv", "--quiet", "--clear", "--python", sys.executable, str(overlay.root)]
    install = [uv, "pip", "install", "--quiet", "--python", str(overlay.python)]
    lock = runtime.root / "requirements.lock"
    if lock.is_file():
        install += ["--constraint", str(lock)]
    install += tools
    for step in (create, install):
        done = subprocess.run(step, capture_output=True, text=True, timeout=timeout_s, check=False)
        if done.returncode != 0:
            raise RuntimeBuildError(f"cannot build the test overlay:\n{done.stderr[-2000:]}")
        if step is create:
            pth = _purelib(overlay.python) / "airflow_runtime.pth"
            pth.write_text(f"{_purelib(runtime.python)}\n")
    (overlay.root / _COMPLETE).write_text("\n".join(tools) + "\n")
