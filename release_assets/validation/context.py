"""Everything a gate reads: the candidate tree, its config, what the change selects, and lazily
built shared inputs (runtime virtualenv, dbt manifest, DAG import) that several gates use.

The context is shared by gates running in parallel threads; each lazy input is built once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from release_assets.config import ReleaseConfig
from release_assets.config.release_config import ENV_PLACEHOLDERS
from release_assets.core.dbt_cli import DbtError, run_dbt, tool_dbt
from release_assets.runtimes.airflow.dag_probe import DagImportReport, DagSummary
from release_assets.runtimes.airflow.venv import (
    RuntimeVenv,
    ensure_repo_runtime,
    ensure_test_runtime,
)
from release_assets.validation.inputs.dag_index import DagIndex, index_of, probe_repo_dags
from release_assets.validation.selection import Selection

# Actual column types of source tables, e.g. {"raw.orders": {"order_id": "BIGINT"}}.
SourceSchemas = dict[str, dict[str, str]]


@dataclass
class ValidationContext:
    """Inputs of one validation run.

    ``repo`` is the candidate's tree (a git export or a working tree). ``base_repo`` is the tree
    it is compared with (the release live in prod, or a pull request's base ref), if any;
    ``base_manifest`` the dbt manifest of that base when it is known without parsing.
    ``source_schemas`` reads what the staging sources actually have (None: not reachable, as
    in a pull request with no environment).
    """

    repo: Path
    config: ReleaseConfig
    selection: Selection
    scratch: Path
    runtimes_dir: Path
    cache_dir: Path
    base_repo: Path | None = None
    base_manifest_json: str | None = None
    source_schemas: Callable[[], SourceSchemas] | None = None
    _locks: dict[str, threading.Lock] = field(default_factory=dict, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _once(self, key: str, build: Callable[[], Any]) -> Any:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]

    @property
    def tools_dir(self) -> Path:
        """Where tool virtualenvs (checkov) are built once and reused."""
        return self.runtimes_dir / "tools"

    def rel(self, path: Path | str) -> str:
        """``path`` relative to the repository root, as reports show it."""
        p = Path(path)
        try:
            return p.resolve().relative_to(self.repo.resolve()).as_posix()
        except ValueError:
            return str(path)

    # -- the Airflow runtime (never the Dagster process) -------------------------------------
    def runtime(self) -> RuntimeVenv:
        """The runtime virtualenv of the target environments (built once, then reused)."""
        return self._once(  # type: ignore[no-any-return]
            "runtime",
            lambda: ensure_repo_runtime(self.runtimes_dir, self.repo, self.config),
        )

    def test_runtime(self) -> RuntimeVenv:
        """The runtime plus pytest and the repository's test requirements."""
        reqs = self.config.tests.requirements

        def build() -> RuntimeVenv:
            return ensure_test_runtime(self.runtime(), self.repo / reqs if reqs else None)

        return self._once("test_runtime", build)  # type: ignore[no-any-return]

    # -- dbt -------------------------------------------------------------------------------
    def dbt_values(self, warehouse: Path | None = None) -> dict[str, str]:
        """The values of the ``dbt.env`` placeholders for validation: a throwaway warehouse
        (``warehouse``, default ``<scratch>/validation.duckdb``) and folders in the scratch
        folder."""
        values = {name: f"<{name}>" for name in ENV_PLACEHOLDERS}
        values.update(
            warehouse_path=str(warehouse or self.scratch / "validation.duckdb"),
            source_root=str(self.scratch / "sources"),
            lake_root=str(self.scratch / "lake"),
            scratch_root=str(self.scratch / "tmp"),
            release_env="validation",
            release_id="validation",
        )
        return values

    def dbt_env(self, warehouse: Path | None = None) -> dict[str, str]:
        """dbt's environment for validation (``dbt.env`` over ``dbt_values(warehouse)``)."""
        if self.config.dbt is None:
            return {}
        return self.config.dbt.render_env(self.dbt_values(warehouse))

    def dbt_executable(self) -> tuple[Path, str | None]:
        """The dbt that validation runs: the one of the target runtime (the repository's own
        pinned dbt, from its requirements), else the tool's own; with a note saying why when
        it is the tool's."""

        def find() -> tuple[Path, str | None]:
            try:
                runtime_dbt = self.runtime().bin_dir / "dbt"
            except Exception as exc:  # the runtime cannot be built: its gate reports why
                why = f"the Airflow runtime could not be built ({type(exc).__name__})"
            else:
                if runtime_dbt.is_file():
                    return runtime_dbt, None
                reqs = self.config.airflow.requirements
                why = f"the Airflow runtime has no dbt ({reqs} pins none)"
            return tool_dbt(), f"{why}: the release tool's own dbt ran instead"

        return self._once("dbt_executable", find)  # type: ignore[no-any-return]

    def _parse(self, tree: Path, name: str) -> dict[str, Any] | DbtError:
        assert self.config.dbt is not None
        scratch = self.scratch / f"dbt-{name}"
        try:
            run_dbt(
                ["parse"],
                tree / self.config.dbt.project_dir,
                tree / self.config.dbt.profiles_dir,
                self.config.dbt.targets["local"],
                self.dbt_env(),
                scratch,
                dbt=self.dbt_executable()[0],
            )
        except DbtError as exc:  # kept, so that every reader gets the same answer at once
            return exc
        return json.loads((scratch / "target" / "manifest.json").read_text())  # type: ignore[no-any-return]

    @staticmethod
    def _raise_failed(value: dict[str, Any] | DbtError | None) -> dict[str, Any] | None:
        if isinstance(value, DbtError):
            raise DbtError(
                value.command,
                value.project_dir,
                value.errors,
                timed_out=value.timed_out,
                dbt_version=value.dbt_version,
            )
        return value

    def manifest(self) -> dict[str, Any] | None:
        """The candidate's dbt manifest (``dbt parse`` with ``dbt_executable()``), or None
        without a dbt project. Raises ``DbtError`` carrying dbt's own error entries when the
        project does not parse (parsed once; every call raises the same errors)."""
        if self.config.dbt is None:
            return None
        parsed = self._once("manifest", lambda: self._parse(self.repo, "candidate"))
        return self._raise_failed(parsed)

    def base_manifest(self) -> dict[str, Any] | None:
        """The base's dbt manifest: given, or parsed from ``base_repo``; None without a base.
        Raises ``DbtError`` (as ``manifest``) when the base's project does not parse."""

        def build() -> dict[str, Any] | DbtError | None:
            if self.base_manifest_json is not None:
                return json.loads(self.base_manifest_json)  # type: ignore[no-any-return]
            if self.base_repo is None or self.config.dbt is None:
                return None
            if not (self.base_repo / self.config.dbt.project_dir).is_dir():
                return None
            return self._parse(self.base_repo, "base")

        return self._raise_failed(self._once("base_manifest", build))

    # -- Airflow DAGs ----------------------------------------------------------------------
    def dag_import(self) -> DagImportReport:
        """Every DAG file of the candidate imported by the target runtime (the one DAG probe,
        cached per file under ``cache_dir``, shared with the release candidate's probe).
        Raises ``GateCrashed`` when the probe itself fails."""
        return self._once(  # type: ignore[no-any-return]
            "dag_import",
            lambda: probe_repo_dags(
                self.runtime(), self.repo, self.config, self.cache_dir, self.scratch
            ),
        )

    def dag_index(self) -> DagIndex:
        """Every DAG file of the candidate as the target runtime parses it, keyed by
        repository-relative path."""
        return self._once(  # type: ignore[no-any-return]
            "dag_index", lambda: index_of(self.dag_import(), self.repo, self.config)
        )

    def dag_summaries(self) -> dict[str, DagSummary]:
        """dag_id -> summary of every DAG of the candidate, for ``build_selection(dags=...)``
        (the change classifier's DAG input, as the release candidate gives it)."""
        return self.dag_import().dags
