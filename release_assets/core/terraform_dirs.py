"""Which Terraform folders a change touches: every root and module of the repository is found
by its files, not declared.

A Terraform folder is any folder holding a ``.tf`` file (``.terraform/`` and hidden folders
are never part of a tree: ``runtimes.airflow.dag_probe.tree_files`` skips them). Terraform
itself treats each such folder as one configuration (a root, or a module another folder calls
with ``module "x" { source = "../../modules/x" }``).

A change selects:

- the Terraform folder a changed file belongs to (its nearest enclosing Terraform folder:
  ``modules/x/main.tf`` and ``modules/x/templates/policy.json`` both select ``modules/x``; a
  configuration at the repository root is selected only by files directly in the root);
- every folder that calls a selected or removed folder through a local ``source`` (``./`` or
  ``../``), transitively: a changed module selects the roots that use it.

Pure functions over repository-relative POSIX paths and a text reader; nothing is parsed with
an HCL parser here (a file that does not parse still selects its folder, and the terraform gate
reports the syntax error).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath

# `source = "../modules/x"` in a module block: a local module (registry and git sources are
# not folders of this repository).
_LOCAL_SOURCE = re.compile(r"""^\s*source\s*=\s*"(\.{1,2}/[^"]*)"\s*$""", re.MULTILINE)


def terraform_folders(files: Iterable[str]) -> list[str]:
    """Every folder holding a ``.tf`` file, as sorted repository-relative POSIX paths (``.``
    for the repository root); paths with a hidden part (``.terraform/``) are left out."""
    out: set[str] = set()
    for rel in files:
        path = PurePosixPath(rel)
        if path.suffix != ".tf" or any(p.startswith(".") for p in path.parts[:-1]):
            continue
        out.add(path.parent.as_posix())
    return sorted(out)


def owning_folder(rel: str, folders: Iterable[str]) -> str | None:
    """The nearest Terraform folder enclosing ``rel`` (None when none does); the repository
    root (``.``) encloses only the files directly in it."""
    known = set(folders)
    path = PurePosixPath(rel)
    for parent in path.parents:
        if parent.as_posix() in known and (parent.as_posix() != "." or path.parent == parent):
            return parent.as_posix()
    return None


def local_sources(folder: str, files: Iterable[str], read: Callable[[str], str]) -> list[str]:
    """The repository-relative folders that ``folder``'s ``.tf`` files call as local modules
    (``source = "../x"``), normalised; sources that leave the repository are dropped."""
    out: set[str] = set()
    for rel in files:
        path = PurePosixPath(rel)
        if path.suffix != ".tf" or path.parent.as_posix() != folder:
            continue
        for match in _LOCAL_SOURCE.finditer(read(rel)):
            target = posixpath.normpath(posixpath.join(folder, match.group(1)))
            if target != ".." and not target.startswith("../"):
                out.add(target)
    return sorted(out)


def select_terraform(
    files: list[str], changed: list[str] | None, read: Callable[[str], str]
) -> dict[str, str]:
    """The Terraform folders a change touches, each with the reason it was selected.

    - ``files``: every file of the candidate tree (repository-relative).
    - ``changed``: the changed paths, deleted ones included; None (no base) selects every
      Terraform folder with the reason ``"no base: everything is new"``.
    - ``read``: the text of a file of the tree (``""`` when unreadable).

    Returns ``{folder: reason}``, sorted by folder. A deleted file of a folder that still has
    ``.tf`` files selects that folder; a deleted module folder selects the folders still
    calling it.
    """
    folders = terraform_folders(files)
    if changed is None:
        return dict.fromkeys(folders, "no base: everything is new")
    present = set(files)
    selected: dict[str, str] = {}
    gone: set[str] = set()  # folders the change removed entirely (a removed module)
    for rel in changed:
        parent = PurePosixPath(rel).parent.as_posix()
        if rel not in present and rel.endswith(".tf") and parent not in folders:
            gone.add(parent)
            continue
        folder = owning_folder(rel, folders)
        if folder is not None:
            selected.setdefault(folder, "changed")
    calls = {f: local_sources(f, files, read) for f in folders}
    grew = True
    while grew:  # callers of a selected module, then their callers
        grew = False
        for folder in folders:
            if folder in selected:
                continue
            used = [m for m in calls[folder] if m in selected or m in gone]
            if used:
                what = "removed" if used[0] in gone else "changed"
                selected[folder] = f"uses the {what} module {used[0]}"
                grew = True
    return dict(sorted(selected.items()))
