"""Results of expensive validation runs, cached by the digest of every input that can change them.

A gate that runs something slow and deterministic (the repository's own pytest suite) keys its
result on a digest of the candidate's tree, the runtime virtualenvs, the interpreter and JVM
versions, and the gate's own code. Identical inputs give the identical result, so the cached
one is reported instead of running again -- always saying so ("cached result of <digest>").
Build output and tool caches (``__pycache__``, ``.pytest_cache``, dbt's ``target``...: the
folders :func:`release_assets.validation.selection.repo_files` leaves out) are not inputs.

Entries are small JSON files written atomically, so parallel validations (threads, processes,
pytest-xdist workers) may share one cache folder; the worst case is two runs of the same suite.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from release_assets.validation.selection import repo_files

_BYTECODE = (".pyc", ".pyo")


def tree_digest(root: Path) -> str:
    """sha256 over every file of the tree: its repository-relative path, whether it is
    executable, and its bytes (symlinks by their target). Build output and caches are left
    out (see :func:`repo_files`): a run that leaves ``__pycache__`` behind does not change it."""
    h = hashlib.sha256()
    for rel in repo_files(root):
        if rel.endswith(_BYTECODE):
            continue
        path = root / rel
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            kind, body = "link", os.readlink(path).encode()
        else:
            kind = "exec" if st.st_mode & 0o111 else "file"
            with path.open("rb") as fh:
                body = hashlib.file_digest(fh, "sha256").digest()
        h.update(f"{len(rel)}:{rel}\0{kind}\0".encode())
        h.update(body)
        h.update(b"\0")
    return h.hexdigest()


def venv_identity(root: Path) -> dict[str, Any]:
    """What a virtualenv runs: its interpreter version (``pyvenv.cfg``) and every installed
    distribution with its version (the ``*.dist-info`` folder names), never its location."""
    cfg = root / "pyvenv.cfg"
    version = []
    if cfg.is_file():
        for line in cfg.read_text(errors="replace").splitlines():
            name = line.split("=", 1)[0].strip()
            if name in {"version", "version_info", "implementation"}:
                version.append(line.strip())
    dists = sorted(p.name for p in root.glob("lib/python*/site-packages/*.dist-info"))
    pths = sorted(p.name for p in root.glob("lib/python*/site-packages/*.pth"))
    return {"name": root.name, "python": version, "dists": dists, "pth": pths}


def java_identity(java_home: str | None) -> str:
    """The JVM the tests would start (Spark): its ``release`` file, else ``java -version``."""
    if not java_home:
        return "no java"
    release = Path(java_home) / "release"
    if release.is_file():
        return f"{Path(java_home).resolve()}\n{release.read_text(errors='replace')}"
    try:
        done = subprocess.run(
            [str(Path(java_home) / "bin" / "java"), "-version"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{java_home}: {type(exc).__name__}"
    return f"{Path(java_home).resolve()}\n{done.stderr.strip()}"


def source_digest(*modules: Path) -> str:
    """sha256 of the given source files: a code change of the gate invalidates its results."""
    h = hashlib.sha256()
    for module in modules:
        h.update(module.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def digest_of(inputs: Mapping[str, Any]) -> str:
    """sha256 of ``inputs`` (JSON-serialisable), independent of key order."""
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class ResultCache:
    """JSON results under ``root``, one file per digest."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _entry(self, digest: str) -> Path:
        if not digest.isalnum():
            raise ValueError(f"not a digest: {digest!r}")
        return self.root / f"{digest}.json"

    def get(self, digest: str) -> dict[str, Any] | None:
        """The result stored under ``digest``, or None (absent or unreadable: a miss)."""
        try:
            data = json.loads(self._entry(digest).read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def put(self, digest: str, result: Mapping[str, Any]) -> None:
        """Store ``result`` under ``digest`` atomically (readers never see half a file)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self.root)
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(result, fh, sort_keys=True)
            os.replace(tmp, self._entry(digest))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
