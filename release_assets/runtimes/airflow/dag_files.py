"""Which files of a DAGs folder Airflow's DAG processor imports, and walking a tree.

Airflow's rule: ``.py`` files not matched by an ``.airflowignore`` (regexp syntax) whose text
holds "airflow" and "dag" (safe mode).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path, PurePosixPath

SKIP_DIRS = frozenset(
    {
        ".git",
        "__pycache__",
        ".pytest_cache",
        ".ruff_cache",
        ".mypy_cache",
        ".terraform",
        "target",
        "logs",
        "dbt_packages",
        ".venv",
    }
)
"""Folders no tree walk descends into: VCS data, caches, build output, virtualenvs."""


def tree_files(root: Path) -> list[str]:
    """Every file under ``root`` (``SKIP_DIRS`` left out), as sorted POSIX paths relative to
    it; [] when ``root`` is not a folder."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        here = Path(dirpath)
        out += [(here / name).relative_to(root).as_posix() for name in filenames]
    return sorted(out)


def ignore_patterns(ignore_files: Mapping[str, str]) -> list[re.Pattern[str]]:
    """Compiled ``.airflowignore`` patterns (Airflow 2's default regexp syntax).

    ``ignore_files`` maps the path of each ``.airflowignore``, relative to the DAGs folder, to
    its text; a pattern of a nested file only applies below that file's folder. Raises
    ``re.error`` for an invalid pattern.
    """
    out = []
    for rel, text in sorted(ignore_files.items()):
        prefix = PurePosixPath(rel).parent.as_posix()
        scope = "" if prefix == "." else re.escape(prefix + "/")
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            if line:
                out.append(re.compile(scope + line))
    return out


def might_contain_dag(text: str) -> bool:
    """Airflow's safe-mode test: the text holds both "airflow" and "dag" (any case)."""
    lowered = text.lower()
    return "airflow" in lowered and "dag" in lowered


def find_dag_files(paths: Iterable[str], read: Callable[[str], str]) -> list[str]:
    """The DAG files among ``paths`` (POSIX, relative to the DAGs folder): ``.py`` files no
    ``.airflowignore`` among ``paths`` ignores and whose text (``read(path)``) might contain
    a DAG. Sorted."""
    listed = sorted(set(paths))
    patterns = ignore_patterns(
        {p: read(p) for p in listed if PurePosixPath(p).name == ".airflowignore"}
    )
    return [
        p
        for p in listed
        if p.endswith(".py")
        and not any(pattern.search(p) for pattern in patterns)
        and might_contain_dag(read(p))
    ]


def reader(root: Path) -> Callable[[str], str]:
    """``read(rel)``: the text of ``root / rel`` ("" when it cannot be read)."""

    def read(rel: str) -> str:
        try:
            return (root / rel).read_text(errors="replace")
        except OSError:
            return ""

    return read


def dag_file_paths(dags_dir: Path) -> list[str]:
    """The files of ``dags_dir`` Airflow's DAG processor imports, relative to it (sorted)."""
    return find_dag_files(tree_files(dags_dir), reader(dags_dir))
