"""The candidate's tree as the change classifier reads it: its files, which are DAG files, and
the text rules that find a name in them (``core.changes`` and ``core.removals`` share these)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from release_assets.runtimes.airflow.dag_probe import find_dag_files, tree_files

__all__ = [
    "Tree",
    "TreeView",
    "contract_tables",
    "is_dag_file",
    "is_dbt_file",
    "mentions",
    "names_in_literal",
    "repo_files",
    "under",
]

_DAG_MARK = re.compile(r"\bDAG\s*\(|@dag\b|\bfrom airflow\.decorators import .*\bdag\b")

Tree = Path | Mapping[str, str]
"""A candidate's tree: its root folder, or every file's repository-relative path -> text."""


# -- the tree --------------------------------------------------------------------------------
def repo_files(repo: Path) -> list[str]:
    """Every file of the tree at ``repo`` (build output and caches left out), as sorted
    repository-relative POSIX paths."""
    return tree_files(repo)


_DBT_FOLDERS = frozenset({"models", "macros", "seeds", "snapshots", "tests", "analyses"})
_DBT_FILES = frozenset(
    {"dbt_project.yml", "packages.yml", "dependencies.yml", "selectors.yml", "profiles.yml"}
)


def is_dbt_file(path: str, project_dir: str) -> bool:
    """``path`` belongs to the dbt project at ``project_dir``: any file under it, or, for a
    project at the repository root (``.``, the layout of ``dbt init`` and the jaffle shop),
    a file of dbt's default folders (models, macros, seeds, snapshots, tests, analyses) or one
    of its project files (dbt_project.yml, packages.yml, ...), so a DAG or Terraform change
    is not a dbt change."""
    folder = PurePosixPath(project_dir)
    if folder.parts:
        return under(path, project_dir)
    parts = PurePosixPath(path).parts
    return bool(parts) and (
        (len(parts) > 1 and parts[0] in _DBT_FOLDERS)
        or (len(parts) == 1 and parts[0] in _DBT_FILES)
    )


def under(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or inside it (POSIX, repository-relative)."""
    return PurePosixPath(path).is_relative_to(PurePosixPath(folder.rstrip("/")))


def is_dag_file(repo: Path, rel: str, dags_folder: str | None = None) -> bool:
    """A file Airflow's DAG processor imports: a ``.py`` in ``dags_folder`` not ignored by an
    ``.airflowignore`` whose text holds "airflow" and "dag" (Airflow's safe-mode rule).
    Without ``dags_folder``, any ``.py`` with a ``DAG(...)`` or ``@dag`` call."""
    if not rel.endswith(".py"):
        return False
    try:
        text = (repo / rel).read_text(errors="replace")
    except OSError:
        return False
    if dags_folder is None:
        return bool(_DAG_MARK.search(text))
    folder = dags_folder.rstrip("/")
    if not under(rel, folder):
        return False
    inner = PurePosixPath(rel).relative_to(folder).as_posix()
    ignores = [
        p.relative_to(repo / folder).as_posix() for p in (repo / folder).rglob(".airflowignore")
    ]
    root = repo / folder
    return bool(find_dag_files([inner, *ignores], lambda r: _text_of(root / r)))


def _text_of(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


class TreeView:
    """Listing and (cached) reading of a ``Tree`` (each file read once)."""

    def __init__(self, tree: Tree) -> None:
        self.root = tree.absolute() if isinstance(tree, Path) else None
        self._memory = None if isinstance(tree, Path) else dict(tree)
        self.files = repo_files(tree) if isinstance(tree, Path) else sorted(tree)
        self._present = set(self.files)
        self._texts: dict[str, str] = {}

    def has(self, rel: str) -> bool:
        return rel in self._present

    def text(self, rel: str) -> str:
        if rel not in self._texts:
            if self._memory is not None:
                self._texts[rel] = self._memory.get(rel, "")
            else:
                assert self.root is not None
                self._texts[rel] = _text_of(self.root / rel) if rel in self._present else ""
        return self._texts[rel]

    def dag_files(self, folder: str) -> list[str]:
        inner = [
            PurePosixPath(f).relative_to(folder).as_posix() for f in self.files if under(f, folder)
        ]
        found = find_dag_files(inner, lambda r: self.text(f"{folder}/{r}"))
        return [f"{folder}/{r}" for r in found]

    def rel(self, fileloc: str, folder: str) -> str | None:
        """The repository-relative path of a DAG's ``fileloc`` (None: unknown)."""
        if not fileloc:
            return None
        if self.root is not None:
            try:
                return Path(fileloc).absolute().relative_to(self.root).as_posix()
            except ValueError:
                pass
        marker = f"/{folder}/"
        return f"{folder}/{fileloc.split(marker, 1)[1]}" if marker in fileloc else None


# -- text rules ---------------------------------------------------------------------------------
def mentions(names: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern finding any of ``names`` as a whole word (None for no names)."""
    unique = sorted(set(names), key=lambda n: (-len(n), n))
    if not unique:
        return None
    return re.compile(r"\b(?:" + "|".join(map(re.escape, unique)) + r")\b")


def names_in_literal(names: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern finding a string literal (any quote style) whose text is one of ``names`` or a
    path ending in one: ``"dbt"``, ``'jobs/x.py'``, ``f"{root}/dbt/"``. None for no names."""
    unique = sorted(set(names), key=lambda n: (-len(n), n))
    if not unique:
        return None
    alternatives = "|".join(map(re.escape, unique))
    return re.compile(rf"""(["'])(?:[^"'\n]*/)?(?:{alternatives})/?\1""")


def contract_tables(texts: Iterable[str]) -> list[str]:
    """The warehouse tables (``raw.orders``) and bare names (``orders``) that contract YAML
    texts describe in their ``table`` key; unreadable texts are skipped."""
    import yaml

    names: set[str] = set()
    for text in texts:
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError:
            continue
        table = str(data.get("table") or "") if isinstance(data, dict) else ""
        if table:
            names.update({table, table.rsplit(".", 1)[-1]})
    return sorted(names)
