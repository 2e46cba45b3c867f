"""Why a DAG file does not import from the release bundle, read from its import error.

DAGs are imported from the assembled bundle (``release_assets.core.bundle``), in a directory
holding nothing else, as they are deployed. When the error is a missing module or file, this
module looks for it in the repository: found outside the bundle, the message says so and what
the bundle ships, so the user knows where to move it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from release_assets.config import ReleaseConfig
from release_assets.core.bundle import bundle_roots
from release_assets.runtimes.airflow.dag_probe import tree_files

_MODULE = re.compile(r"No module named '([^']+)'")
_FILE = re.compile(r"No such file or directory: '([^']+)'")


@dataclass(frozen=True)
class BundleMiss:
    """An import error explained: ``message`` (what is missing and where it is instead) and
    ``fix`` (where to move it)."""

    message: str
    fix: str


def shipped(repo: Path, config: ReleaseConfig) -> str:
    """What a bundle ships, for messages: ``contracts/, dags/, release.yaml, ...``."""
    return ", ".join(r + "/" if (repo / r).is_dir() else r for r in bundle_roots(config))


def _in_bundle(path: str, config: ReleaseConfig) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in bundle_roots(config))


def _module_files(repo: Path, name: str) -> list[str]:
    """Where the repository has the module ``name`` (dotted) or its longest found parent
    package: the top-level module file (``lib/helpers.py``) or package folder (``tools/``),
    shortest first."""
    parts = name.split(".")
    out = []
    for rel in tree_files(repo):
        full = list(PurePosixPath(rel).parts)
        if not rel.endswith(".py"):
            continue
        for depth in range(len(parts), 0, -1):
            stem = parts[:depth]
            if full[-depth:] == [*stem[:-1], f"{stem[-1]}.py"]:  # the module's own file
                top = len(full) - depth
            elif full[-depth - 1 : -1] == stem:  # a file inside the package's folder
                top = len(full) - depth - 1
            else:
                continue
            out.append(rel if top == len(full) - 1 else "/".join(full[: top + 1]) + "/")
            break
    return sorted(set(out), key=lambda p: (p.count("/"), p))


def explain(repo: Path, config: ReleaseConfig, error: str) -> BundleMiss | None:
    """The import error ``error`` (repository-relative text) explained against the bundle, or
    None when it names no module or file the repository has."""
    last = error.strip().splitlines()[-1] if error.strip() else ""
    dags = config.airflow.dags_folder.strip("/")
    module = _MODULE.search(last)
    if module:
        name = module.group(1)
        found = _module_files(repo, name)
        outside = [p for p in found if not _in_bundle(p, config)]
        inside = [p for p in found if _in_bundle(p, config)]
        head = f"does not import from the release bundle: No module named {name!r}"
        if outside:
            return BundleMiss(
                f"{head} (the bundle ships {shipped(repo, config)}; {outside[0]} is not part "
                "of it)",
                f"move {outside[0]} into {dags}/ (the DAGs folder is on sys.path once "
                "deployed), or publish it as a package pinned in requirements.txt",
            )
        if inside and not any(p.startswith(dags + "/") for p in inside):
            return BundleMiss(
                f"{head} ({inside[0]} is in the bundle, but only the DAGs folder {dags}/ is on "
                "sys.path)",
                f"move the module into {dags}/, or import it by its path inside the bundle",
            )
        return None
    missing = _FILE.search(last)
    if missing:
        path = missing.group(1)
        if (repo / path).exists() and not _in_bundle(path, config):
            return BundleMiss(
                f"does not import from the release bundle: it reads {path} at parse time (the "
                f"bundle ships {shipped(repo, config)}; {path} is not part of it)",
                f"move {path} into {dags}/ and build its path from Path(__file__).parent",
            )
        if not path.startswith("/"):
            return BundleMiss(
                f"does not import from the release bundle: it opens {path!r} at parse time, a "
                "path relative to the working directory of the process that parses it (not "
                "the repository, nor the DAG file's folder)",
                f"keep the file inside the bundle ({shipped(repo, config)}) and build its path "
                "from Path(__file__).parent",
            )
    return None
