"""Every DAG file of a candidate as the target Airflow runtime parses it, with a content cache.

Files are imported in the runtime virtualenv by ``dag_probe.py`` (one process per chunk, in
parallel). A file's parse is cached under ``<cache>/dag-index`` keyed by the runtime, the file's
bytes and the bytes of every shared module and requirement, so a change re-imports only the
files it touches while references still resolve against the whole repository. A full
validation re-imports every file.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from release_assets.runtimes.airflow.in_airflow import DAG_PROBE
from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import GateCrashed
from release_assets.validation.selection import is_dag_file, repo_files

_PROBE = DAG_PROBE
_CHUNK_MIN = 30  # below this many files one process is faster than two


@dataclass(frozen=True)
class FileParse:
    path: str  # repository-relative
    parse_s: float
    error: str | None
    dags: dict[str, dict[str, Any]]


@dataclass
class DagIndex:
    files: dict[str, FileParse]
    imported: list[str] = field(default_factory=list)  # parsed now (the rest came from cache)

    def dag_files(self) -> dict[str, str]:
        """dag_id -> the first file defining it."""
        out: dict[str, str] = {}
        for path in sorted(self.files):
            for dag_id in self.files[path].dags:
                out.setdefault(dag_id, path)
        return out

    def dag(self, dag_id: str) -> dict[str, Any] | None:
        path = self.dag_files().get(dag_id)
        return self.files[path].dags[dag_id] if path else None

    def duplicates(self) -> dict[str, list[str]]:
        seen: dict[str, list[str]] = {}
        for path in sorted(self.files):
            for dag_id in self.files[path].dags:
                seen.setdefault(dag_id, []).append(path)
        return {k: v for k, v in seen.items() if len(v) > 1}


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def _shared_digest(ctx: ValidationContext, files: list[str], dag_files: set[str]) -> bytes:
    folder = ctx.config.airflow.dags_folder.rstrip("/") + "/"
    shared = [f for f in files if f.startswith(folder) and f not in dag_files]
    parts = [f.encode() + b"\0" + (ctx.repo / f).read_bytes() for f in shared]
    parts.append((ctx.repo / ctx.config.airflow.requirements).read_bytes())
    return _digest(*parts).encode()


def _probe(ctx: ValidationContext, paths: list[str], out_dir: Path, n: int) -> dict[str, Any]:
    runtime = ctx.runtime()
    dags_folder = ctx.repo / ctx.config.airflow.dags_folder
    request = out_dir / f"request-{n}.json"
    result = out_dir / f"result-{n}.json"
    request.write_text(
        json.dumps({"dags_folder": str(dags_folder), "files": [str(ctx.repo / p) for p in paths]})
    )
    home = out_dir / f"home-{n}"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VIRTUAL_ENV"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(dags_folder),
        AIRFLOW__CORE__UNIT_TEST_MODE="True",
        AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT=str(ctx.config.airflow.parse_timeout_seconds),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        PYTHONPATH=str(dags_folder),
    )
    budget = 60 + len(paths) * (ctx.config.airflow.parse_timeout_seconds + 1)
    try:
        done = subprocess.run(
            [str(runtime.python), str(_PROBE), str(request), str(result)],
            env=env,
            capture_output=True,
            text=True,
            timeout=budget,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GateCrashed(
            f"importing {len(paths)} DAG file(s) timed out after {budget:.0f}s"
        ) from None
    if done.returncode != 0 or not result.exists():
        raise GateCrashed(f"the DAG import probe failed in the runtime:\n{done.stderr[-2000:]}")
    return json.loads(result.read_text())  # type: ignore[no-any-return]


def build_dag_index(ctx: ValidationContext, workers: int = 2) -> DagIndex:
    files = repo_files(ctx.repo)
    folder = ctx.config.airflow.dags_folder.rstrip("/") + "/"
    dag_files = sorted(
        f for f in files if f.startswith(folder) and is_dag_file(ctx.repo, f, folder)
    )
    shared = _shared_digest(ctx, files, set(dag_files))
    key_base = f"{ctx.runtime().root.name}:{ctx.config.airflow.parse_timeout_seconds}".encode()
    cache = ctx.cache_dir / "dag-index"
    cache.mkdir(parents=True, exist_ok=True)
    keys = {f: _digest(key_base, shared, (ctx.repo / f).read_bytes()) for f in dag_files}
    parsed: dict[str, FileParse] = {}
    todo: list[str] = []
    for f in dag_files:
        entry = cache / f"{keys[f]}.json"
        if not ctx.selection.full and entry.exists():
            data = json.loads(entry.read_text())
            parsed[f] = FileParse(f, data["parse_s"], data["error"], data["dags"])
        else:
            todo.append(f)
    if todo:
        chunks = max(1, min(workers, len(todo) // _CHUNK_MIN))
        groups = [todo[i::chunks] for i in range(chunks)]
        with (
            tempfile.TemporaryDirectory(prefix="probe-", dir=ctx.scratch) as tmp,
            ThreadPoolExecutor(max_workers=chunks) as pool,
        ):
            outs = list(
                pool.map(lambda ig: _probe(ctx, ig[1], Path(tmp), ig[0]), enumerate(groups))
            )
        root = str(ctx.repo)
        for out in outs:
            for abs_path, data in out.items():
                rel = ctx.rel(abs_path)
                error = data["error"].replace(root + "/", "") if data["error"] else None
                parse = FileParse(rel, data["parse_s"], error, data["dags"])
                parsed[rel] = parse
                (cache / f"{keys[rel]}.json").write_text(
                    json.dumps({"parse_s": parse.parse_s, "error": error, "dags": parse.dags})
                )
    return DagIndex(files=dict(sorted(parsed.items())), imported=sorted(todo))
