"""Import the DAG files of a folder in the Airflow runtime virtualenv (never in the Dagster
process) and describe what each defines, with an optional per-file cache.

This is the host side of ``in_airflow/dag_probe.py``, the one DAG probe: the release candidate
and the validation gates both call ``import_dags``, and when they pass the same ``cache_dir``
each DAG file of a release is imported once. A cached parse is keyed by the runtime, the
probe's own code, the per-file parse timeout, the file's path and bytes, and the path and bytes
of every other (non-DAG) file of the folder (shared modules, ``.airflowignore``), so a change
re-imports only the files it touches. The cache assumes, as a deployed Airflow does, that what a
DAG file defines depends on the DAGs folder and the runtime only; ``cache_scope`` keeps parses
made inside an assembled release bundle (``core.bundle.import_bundle_dags``, where nothing else
of the repository is reachable) apart from parses of a folder inside a whole checkout. Each
parse also carries what the file did at parse time (``FileParse.parse_effects``).

Which files are DAG files follows Airflow's DAG processor (``dag_files``, re-exported here).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from release_assets.runtimes.airflow.dag_files import (
    SKIP_DIRS,
    dag_file_paths,
    find_dag_files,
    ignore_patterns,
    might_contain_dag,
    reader,
    tree_files,
)
from release_assets.runtimes.airflow.in_airflow import DAG_PROBE
from release_assets.runtimes.airflow.venv import RuntimeVenv
from release_assets.settings import inherited_environment

__all__ = [
    "CACHE_FOLDER",
    "SKIP_DIRS",
    "DagImportReport",
    "DagProbeError",
    "DagSummary",
    "FileParse",
    "dag_file_paths",
    "find_dag_files",
    "ignore_patterns",
    "import_dags",
    "might_contain_dag",
    "reader",
    "rerooted",
    "tree_files",
]

CACHE_FOLDER = "dag-probe"
"""The folder under ``cache_dir`` that holds one JSON file per cached file parse."""

_TRACEBACK_DEPTH = 20  # frames of an import error kept (part of the cache key)
_CHUNK_MIN = 30  # below this many files one probe process is faster than two
_OTHER_FILES_ERRORS = ("AirflowDagDuplicatedIdException",)
"""Import errors that depend on which other DAG files the same probe process imported (a
dag_id another file defined first), which the cache key leaves out: such parses are never
stored (a duplicated dag_id is found across files by ``DagIndex.duplicates`` whatever came from
the cache)."""
_DAGS_TOKEN = "\x00dags\x00"  # the DAGs folder's absolute path, in cached text
_PARENT_TOKEN = "\x00root\x00"  # its parent's (the repository root, usually)


class DagProbeError(RuntimeError):
    """The probe process itself failed or timed out (not a DAG file's import error, which is
    reported per file). The message names the folder and ends with the probe's stderr."""


@dataclass(frozen=True)
class DagSummary:
    """What the release graph needs to know of one parsed DAG: its id, the absolute path of
    the file defining it (``""`` when not known) and the Dataset URIs it consumes (its
    schedule) and produces (its tasks' outlets)."""

    dag_id: str
    fileloc: str
    consumes: list[str]
    produces: list[str]


@dataclass(frozen=True)
class FileParse:
    """One DAG file as the runtime imported it.

    ``path`` is relative to the folder probed (POSIX); ``parse_s`` the import time in seconds;
    ``error`` Airflow's import error (traceback text) or None; ``dags`` maps each dag_id the
    file defines to the probe's description: ``fileloc``, ``owner``, ``catchup``,
    ``schedule``, ``tasks`` (task_id -> owner, retries, type), ``refs`` (cross-DAG references),
    ``consumes``, ``consumes_expr``, ``produces``. ``parse_effects``: what the file's top-level
    code did at parse time, in call order by line: ``{"kind": "variable" | "connection" |
    "database" | "network", "key": str, "line": int, "via": "path:line" (optional, relative to
    the folder), "error": exception type (optional)}`` (see ``in_airflow/dag_probe.py``).
    """

    path: str
    parse_s: float
    error: str | None
    dags: dict[str, dict[str, Any]]
    parse_effects: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class DagImportReport:
    """Every DAG file of a folder as the runtime imports it.

    ``dags``: dag_id -> summary (a dag_id defined twice: the first file in path order);
    ``errors``: absolute file path -> import error; ``files``: path relative to the folder ->
    its parse; ``imported``: the relative paths imported by this call (the rest came from the
    cache).
    """

    dags: dict[str, DagSummary]
    errors: dict[str, str]
    files: dict[str, FileParse] = field(default_factory=dict)
    imported: list[str] = field(default_factory=list)

    @property
    def dag_ids(self) -> list[str]:
        return sorted(self.dags)


# -- the per-file cache ------------------------------------------------------------------------
def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def _swap(value: Any, pairs: list[tuple[str, str]]) -> Any:
    text = json.dumps(value)
    for old, new in pairs:
        text = text.replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1])
    return json.loads(text)


def _to_cache(value: Any, dags_dir: Path) -> Any:
    """``value`` with the absolute DAGs folder (then its parent) replaced by tokens, so a
    cached parse is valid for another copy of the same tree."""
    pairs = [(str(dags_dir), _DAGS_TOKEN)]
    if dags_dir.parent != dags_dir:
        pairs.append((str(dags_dir.parent), _PARENT_TOKEN))
    return _swap(value, pairs)


def _from_cache(value: Any, dags_dir: Path) -> Any:
    return _swap(value, [(_DAGS_TOKEN, str(dags_dir)), (_PARENT_TOKEN, str(dags_dir.parent))])


def _cacheable(data: dict[str, Any]) -> bool:
    """Whether a file's parse depends on that file and its key's inputs alone (see
    ``_OTHER_FILES_ERRORS``)."""
    error = data.get("error") or ""
    return not any(name in error for name in _OTHER_FILES_ERRORS)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _file_parse(rel: str, data: dict[str, Any]) -> FileParse:
    return FileParse(
        rel, data["parse_s"], data["error"], data["dags"], list(data.get("parse_effects", []))
    )


def rerooted(report: DagImportReport, old: Path, new: Path) -> DagImportReport:
    """``report`` with every absolute path under ``old`` (error texts, ``fileloc``) shown under
    ``new`` instead: a probe of a copy of a tree (the assembled bundle) reported as the tree."""
    pairs = [(str(old), str(new))]
    files = {
        rel: FileParse(
            p.path, p.parse_s, _swap(p.error, pairs), _swap(p.dags, pairs), p.parse_effects
        )
        for rel, p in report.files.items()
    }
    return DagImportReport(
        dags={
            k: DagSummary(d.dag_id, _swap(d.fileloc, pairs), d.consumes, d.produces)
            for k, d in report.dags.items()
        },
        errors={_swap(k, pairs): _swap(v, pairs) for k, v in report.errors.items()},
        files=files,
        imported=list(report.imported),
    )


# -- running the probe ---------------------------------------------------------------------------
def _run_probe(
    runtime: RuntimeVenv,
    dags_dir: Path,
    paths: list[str],
    work: Path,
    parse_timeout_s: float,
    timeout_s: float | None,
) -> dict[str, Any]:
    """One probe process over ``paths``; its raw result keyed by absolute path."""
    work.mkdir(parents=True)
    request, result, home = work / "request.json", work / "result.json", work / "home"
    home.mkdir()
    request.write_text(
        json.dumps({"dags_folder": str(dags_dir), "files": [str(dags_dir / p) for p in paths]})
    )
    env = inherited_environment(("AIRFLOW", "VIRTUAL_ENV"))
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        # As in a deployed environment, the DAGs folder is on sys.path (shared packages).
        AIRFLOW__CORE__DAGS_FOLDER=str(dags_dir),
        AIRFLOW__CORE__UNIT_TEST_MODE="True",
        AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT=str(parse_timeout_s),
        # Enough frames to reach the DAG file's own line through helpers and libraries.
        AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACK_DEPTH=str(_TRACEBACK_DEPTH),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        PYTHONPATH=str(dags_dir),
    )
    budget = timeout_s if timeout_s is not None else 60 + len(paths) * (parse_timeout_s + 1)
    try:
        done = subprocess.run(
            [str(runtime.python), str(DAG_PROBE), str(request), str(result)],
            env=env,
            capture_output=True,
            text=True,
            timeout=budget,
            check=False,
            cwd=home,  # a relative path opened at parse time resolves to nothing of the tree
        )
    except subprocess.TimeoutExpired:
        raise DagProbeError(
            f"importing {len(paths)} DAG file(s) of {dags_dir} timed out after {budget:.0f}s"
        ) from None
    if done.returncode != 0 or not result.exists():
        raise DagProbeError(
            f"the DAG import probe failed in the runtime for {dags_dir}:\n{done.stderr[-2000:]}"
        )
    return json.loads(result.read_text())  # type: ignore[no-any-return]


def import_dags(
    runtime: RuntimeVenv,
    dags_dir: Path,
    timeout_s: float | None = None,
    *,
    cache_dir: Path | None = None,
    parse_timeout_s: float = 30.0,
    workers: int = 2,
    scratch: Path | None = None,
    fresh: bool = False,
    cache_scope: str = "folder",
) -> DagImportReport:
    """Import every DAG file of ``dags_dir`` with the runtime's Airflow and packages, one file
    at a time (``in_airflow/dag_probe.py``), in throwaway Airflow homes.

    - ``cache_dir``: reuse and store per-file parses under ``<cache_dir>/dag-probe`` (see the
      module docstring); None imports every file. Give the release candidate and the
      validation gates the same folder and each file of a release is imported once.
    - ``parse_timeout_s``: Airflow's per-file import timeout (``dagbag_import_timeout``);
      part of the cache key. ``timeout_s``: the budget of each probe process (default
      60 s + parse timeout + 1 s per file).
    - ``workers``: probe processes run in parallel (only for 30+ files to import).
    - ``scratch``: where the Airflow homes are made (default: the system's temp folder).
    - ``fresh``: import every file even when cached (the new parses are still stored).
    - ``cache_scope``: part of the cache key, naming what surrounds the folder: ``"bundle"``
      for a folder inside an assembled release bundle (``core.bundle.import_bundle_dags``),
      so a parse made inside a whole checkout never stands for one made inside a bundle.

    A file that fails to import is reported in ``errors`` and ``files`` (never raised). Raises
    ``DagProbeError`` when a probe process fails or times out, ``FileNotFoundError`` when
    ``dags_dir`` is missing.
    """
    dags_dir = dags_dir.absolute()
    if not dags_dir.is_dir():
        raise FileNotFoundError(f"DAGs folder {dags_dir} does not exist")
    listed = tree_files(dags_dir)
    read = reader(dags_dir)
    dag_files = find_dag_files(listed, read)
    parsed: dict[str, FileParse] = {}
    keys: dict[str, str] = {}
    cache = cache_dir / CACHE_FOLDER if cache_dir is not None else None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        wanted = set(dag_files)
        shared = _digest(
            *(p.encode() + b"\0" + (dags_dir / p).read_bytes() for p in listed if p not in wanted)
        )
        base = f"{runtime.root.name}:{float(parse_timeout_s)}:{_TRACEBACK_DEPTH}:{cache_scope}"
        base += f":{shared}"
        key_base = base.encode()
        probe = DAG_PROBE.read_bytes()
        for rel in dag_files:
            keys[rel] = _digest(probe, key_base, rel.encode(), (dags_dir / rel).read_bytes())
            entry = cache / f"{keys[rel]}.json"
            if not fresh and entry.exists():
                data = _from_cache(json.loads(entry.read_text()), dags_dir)
                parsed[rel] = _file_parse(rel, data)
    todo = [rel for rel in dag_files if rel not in parsed]
    if todo:
        chunks = max(1, min(workers, len(todo) // _CHUNK_MIN))
        groups = [todo[i::chunks] for i in range(chunks)]
        with (
            tempfile.TemporaryDirectory(prefix="ra-dag-probe-", dir=scratch) as tmp,
            ThreadPoolExecutor(max_workers=chunks) as pool,
        ):
            outs = list(
                pool.map(
                    lambda ig: _run_probe(
                        runtime, dags_dir, ig[1], Path(tmp) / str(ig[0]), parse_timeout_s, timeout_s
                    ),
                    enumerate(groups),
                )
            )
        for out in outs:
            for abs_path, data in out.items():
                rel = Path(abs_path).relative_to(dags_dir).as_posix()
                parsed[rel] = _file_parse(rel, data)
                if cache is not None and _cacheable(data):
                    stored = _to_cache(data, dags_dir)
                    _write_atomic(cache / f"{keys[rel]}.json", json.dumps(stored))
    files = dict(sorted(parsed.items()))
    summaries: dict[str, DagSummary] = {}
    for parse in files.values():
        for dag_id, info in sorted(parse.dags.items()):
            summaries.setdefault(
                dag_id,
                DagSummary(dag_id, info["fileloc"], list(info["consumes"]), list(info["produces"])),
            )
    errors = {str(dags_dir / rel): p.error for rel, p in files.items() if p.error}
    return DagImportReport(
        dags=dict(sorted(summaries.items())), errors=errors, files=files, imported=sorted(todo)
    )
