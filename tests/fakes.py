"""The fast test layer's world: every resource of the definitions bound to in-memory fakes.

A ``FakeWorld`` (one per test) holds two environments, ``staging`` (the ``integration`` role)
and ``prod`` (``production``), each a ``FakeAirflow``, a ``FakeWarehouse`` (real SQL, in-memory
DuckDB), a ``FakeArtifactStore``, ``FakeSecrets`` and ``FakeFlags``; the release record store and
its IO manager on a temporary folder. ``add_release`` writes a ``ReleaseRecord`` and stores a
bundle (``_release/release.json``, ``release.yaml`` of examples/northstar, a
``_release/dbt_manifest.json`` listing a few models, one file per DAG), so every step after
``release_candidate`` runs without git, dbt or Airflow. ``materialize`` runs chosen steps for one
release with ``release_candidate`` unselected (its record is loaded by the real IO manager).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from release_assets.core.audit import AuditEvent, AuditRecord
from release_assets.core.bundle import DBT_MANIFEST, RELEASE_META
from release_assets.core.changes import ChangeSet
from release_assets.core.dag_order import downstream_dags
from release_assets.core.deploy import publish_from_store
from release_assets.core.evidence import GATES_STEP, RECORD_KEY, RELEASE_STEPS
from release_assets.core.record import DagEdges, ReleaseRecord
from release_assets.core.release_schemas import release_sources, release_suffix
from release_assets.defs.assets.release_candidate import release_candidate
from release_assets.defs.io_managers import ReleaseRecordIOManager, ReleaseRecordStore
from release_assets.defs.promotion_inputs import PromotionPolicies
from release_assets.defs.resources import RECORD_IO_MANAGER, PipelinesRepoResource, ReleasePlatform
from release_assets.runtimes.airflow import fake as fake_airflow
from release_assets.runtimes.airflow.dag_probe import DagSummary
from release_assets.runtimes.airflow.fake import FakeAirflow, FakeAirflowState, RunEffect
from release_assets.runtimes.artifacts import fake as fake_artifacts
from release_assets.runtimes.artifacts.fake import FakeArtifactState, FakeArtifactStore
from release_assets.runtimes.audit.local import LocalAuditStore
from release_assets.runtimes.environment import Environment
from release_assets.runtimes.flags.fake import FakeFlags
from release_assets.runtimes.secrets.fake import FakeSecrets
from release_assets.runtimes.spark.local import LocalSpark
from release_assets.runtimes.warehouse import fake as fake_warehouse
from release_assets.runtimes.warehouse.fake import FakeWarehouse, FakeWarehouseState
from tests.paths import NORTHSTAR

DEV = "dev"
STAGING = "staging"
PROD = "prod"
INTEGRATION_DATE = "2026-11-02"
BUILD_STORE = "artifacts"

_RAW = "duckdb://warehouse/raw."
NORTHSTAR_DAGS: dict[str, DagEdges] = {
    "ingest_orders": DagEdges(produces=[f"{_RAW}order_items", f"{_RAW}orders"]),
    "ingest_customers": DagEdges(produces=[f"{_RAW}customers"]),
    "ingest_inventory": DagEdges(produces=[f"{_RAW}inventory_movements"]),
    "spark_inventory_positions": DagEdges(
        consumes=[f"{_RAW}inventory_movements"], produces=["file://lake/inventory_positions"]
    ),
    "dbt_build": DagEdges(
        consumes=[f"{_RAW}customers", f"{_RAW}orders", "file://lake/inventory_positions"],
        produces=["duckdb://warehouse/marts"],
    ),
    "publish_revenue_report": DagEdges(
        consumes=["duckdb://warehouse/marts"], produces=["file://lake/exports/daily_revenue"]
    ),
}
"""The example repository's DAGs and the Datasets wiring them (as its DAG probe reports)."""

MODELS = [
    "marts.dim_customers",
    "marts.fct_daily_revenue",
    "marts.fct_orders",
    "staging.stg_orders",
]
"""The dbt models a test bundle's manifest lists (``schema.name``)."""

SOURCES = ["raw.customers", "raw.orders"]
"""The dbt sources a test bundle's manifest lists: the tables a canary and its baseline read."""

SPARK_ENTRY = "spark/jobs/inventory_positions.py"
"""The Spark job release.yaml of examples/northstar names; a test bundle carries it."""


def commit_of(tag: str) -> str:
    """A stable, fake commit sha for ``tag``."""
    return hashlib.sha1(tag.encode()).hexdigest()


def dbt_manifest(models: Iterable[str]) -> bytes:
    """A normalized dbt manifest with ``models`` (``schema.name``), one test node and the
    ``SOURCES``."""
    nodes: dict[str, Any] = {}
    for relation in models:
        schema, name = relation.split(".", 1)
        nodes[f"model.northstar.{name}"] = {
            "resource_type": "model",
            "schema": schema,
            "name": name,
            "alias": None,
        }
    nodes["test.northstar.not_null_fct_orders_order_id"] = {
        "resource_type": "test",
        "schema": "marts_dbt_test__audit",
        "name": "not_null_fct_orders_order_id",
    }
    sources = {
        f"source.northstar.{schema}.{name}": {
            "resource_type": "source",
            "schema": schema,
            "name": name,
            "identifier": name,
        }
        for schema, name in (relation.split(".", 1) for relation in SOURCES)
    }
    return json.dumps({"nodes": nodes, "sources": sources}, indent=2, sort_keys=True).encode()


def bundle_files(
    tag: str,
    dag_ids: Iterable[str],
    models: Iterable[str] = MODELS,
    release_yaml: str | None = None,
) -> dict[str, bytes]:
    """The files of a test bundle of release ``tag`` (``release_yaml``: its release.yaml,
    by default the example's)."""
    meta = {
        "release_id": tag,
        "commit": commit_of(tag),
        "project": "northstar",
        "airflow_version": "2.11.2",
    }
    files = {
        RELEASE_META: (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode(),
        "release.yaml": (
            release_yaml.encode()
            if release_yaml is not None
            else (NORTHSTAR / "release.yaml").read_bytes()
        ),
        SPARK_ENTRY: (NORTHSTAR / SPARK_ENTRY).read_bytes(),
        DBT_MANIFEST: dbt_manifest(models),
    }
    for dag_id in dag_ids:
        files[f"dags/{dag_id}.py"] = (
            f'from airflow import DAG\n\ndag = DAG(dag_id="{dag_id}", tags=["{tag}"])\n'
        ).encode()
    return files


def make_record(
    tag: str,
    changed: Sequence[str] = ("dbt_build",),
    dbt_models: Sequence[str] = ("fct_orders",),
    base_release: str | None = None,
    dags: Mapping[str, DagEdges] = NORTHSTAR_DAGS,
) -> ReleaseRecord:
    """The record ``release_candidate`` would write for ``tag``: DAGs ``changed`` (the
    downstream ones derived from the Datasets), dbt models changed, the base release."""
    summaries = {d: DagSummary(d, "", list(e.consumes), list(e.produces)) for d, e in dags.items()}
    change = ChangeSet(
        base_release=base_release,
        files=[f"dags/{d}.py" for d in sorted(changed)],
        dag_files=[f"dags/{d}.py" for d in sorted(changed)],
        dag_ids=sorted(changed),
        downstream_dag_ids=downstream_dags(sorted(changed), summaries),
        dbt_models=sorted(dbt_models),
        dbt_dag_ids=["dbt_build"] if "dbt_build" in dags else [],
    )
    return ReleaseRecord(
        release=tag,
        commit=commit_of(tag),
        base_release=base_release,
        base_commit=commit_of(base_release) if base_release else None,
        change=change,
        dags=dict(dags),
        authors=["Dana Engineer <dana@northstar.example>"],
        pull_requests=[7],
    )


def table_sql(
    relation: str,
    rows: int,
    null_amounts: int = 0,
    amount_shift: float = 0.0,
    orders_per_day: int = 1,
    drop_every: int = 0,
) -> list[str]:
    """Statements creating ``relation`` with ``rows`` rows, unique on every critical table's
    keys (order_id, customer_id, store_id + sku; order_date too with one order per day),
    newest ``updated_at`` (and ``loaded_at``, the example's freshness column) near 2026-11-01;
    the first ``null_amounts`` rows have a null ``amount``, every other amount is ``10 + row
    number + amount_shift``; ``orders_per_day`` rows share an ``order_date``; with
    ``drop_every`` = n, every n-th row is left out (a filter that drops a share of each
    day)."""
    schema = relation.split(".", 1)[0]
    where = f" where range % {drop_every} <> 0" if drop_every else ""
    return [
        f"create schema if not exists {schema}",
        f"create or replace table {relation} as select range as order_id, "
        "range as customer_id, "
        f"date '2025-01-01' + cast(range // {orders_per_day} as integer) as order_date, "
        "range % 10 as store_id, range as sku, "
        f"case when range < {null_amounts} then null else {10.0 + amount_shift} + range end "
        "as amount, "
        "timestamp '2026-11-01 00:00:00' + to_minutes(range) as updated_at, "
        "timestamp '2026-11-01 00:00:00' + to_minutes(range) as loaded_at "
        f"from range({rows}){where}",
    ]


@dataclass
class FakeWorld:
    """One test's fake environments, stores and records (``root``: the test's temp folder).

    ``prod_store``: the name of prod's own artifact store; by default prod and staging read the
    build store itself, with another name a release is promoted (copied) into it.
    """

    name: str
    root: Path
    prod_store: str = BUILD_STORE
    overrides: dict[str, Any] = field(default_factory=dict)
    """Resources that replace or add to the default ones (a third environment, policies)."""

    def airflow(self, environment: str) -> FakeAirflowState:
        """The fake Airflow of ``environment``: what is published, live, triggered..."""
        return fake_airflow.airflow_state(self.name, environment)

    def airflow_target(self, environment: str) -> FakeAirflow:
        return FakeAirflow(environment=environment, world=self.name)

    def warehouse(self, environment: str) -> FakeWarehouse:
        """The warehouse of ``environment`` (query it, write tables, read pointers)."""
        return FakeWarehouse(environment=environment, world=self.name)

    def warehouse_state(self, environment: str) -> FakeWarehouseState:
        return fake_warehouse.warehouse_state(self.name, environment)

    def store(self, name: str = BUILD_STORE) -> FakeArtifactStore:
        """An artifact store of the world (``BUILD_STORE``: where release_artifact builds)."""
        return FakeArtifactStore(world=self.name, name=name)

    def bundles(self, name: str = BUILD_STORE) -> FakeArtifactState:
        return fake_artifacts.store_state(self.name, name)

    @property
    def records(self) -> ReleaseRecordStore:
        return ReleaseRecordStore(root=str(self.root / "records"))

    @property
    def audit(self) -> LocalAuditStore:
        """The world's audit trail (a real local store in the test's folder)."""
        return LocalAuditStore(root=str(self.root / "audit"))

    def pass_steps(self, tag: str, through: str, digest: str | None = None) -> None:
        """Append to the audit trail what the release steps up to ``through`` (inclusive,
        in the release graph's order) record when they pass for ``tag``: the evidence later
        steps require. ``digest`` defaults to the artifact in the build store."""
        record = self.records.read(tag)
        manifest = self.store().manifest(tag)
        digest = digest or (manifest.digest if manifest else None)
        for step in RELEASE_STEPS[: RELEASE_STEPS.index(through) + 1]:
            self.audit.append(
                AuditEvent(
                    action="gate" if step == GATES_STEP else "step",
                    outcome="passed",
                    actor="test",
                    release=tag,
                    step=step,
                    environment=PROD
                    if step not in ("staging_deployment", "staging_integration_run")
                    else STAGING,
                    commit=record.commit,
                    digest=None if step == GATES_STEP else digest,
                    gates={"dbt": "passed"} if step == GATES_STEP else {},
                    data={RECORD_KEY: record.fingerprint()},
                )
            )

    def environment(self, name: str) -> Environment:
        return Environment(
            name=name,
            airflow=self.airflow_target(name),
            warehouse=self.warehouse(name),
            artifacts=self.store(self.prod_store if name == PROD else BUILD_STORE),
            secrets=FakeSecrets(),
            flags=FakeFlags(environment=name),
            spark=LocalSpark(environment=name, work_dir=str(self.root / "spark" / name)),
            locks_dir=str(self.root / "locks"),
        )

    def resources(self) -> dict[str, Any]:
        """Every resource key the definitions bind (as ``build_resources`` does)."""
        staging, prod = self.environment(STAGING), self.environment(PROD)
        records = self.records
        return {
            f"env_{STAGING}": staging,
            f"env_{PROD}": prod,
            "integration": staging,
            "production": prod,
            "artifact_store": self.store(),
            "pipelines_repo": PipelinesRepoResource(
                location=str(self.root / "no-pipelines-repo"),
                mirrors_dir=str(self.root / "git-mirrors"),
            ),
            "platform": ReleasePlatform(
                runtimes_dir=str(self.root / "runtimes"),
                cache_dir=str(self.root / "validation-cache"),
                integration_date=INTEGRATION_DATE,
            ),
            "records": records,
            RECORD_IO_MANAGER: ReleaseRecordIOManager(store=records),
            "audit": self.audit,
            "promotion": PromotionPolicies.of({}),
            **self.overrides,
        }

    def add_release(
        self,
        tag: str,
        changed: Sequence[str] = ("dbt_build",),
        dbt_models: Sequence[str] = ("fct_orders",),
        base_release: str | None = None,
        models: Sequence[str] = MODELS,
        record: bool = True,
        bundle: bool = True,
        evidence_through: str | None = "approval",
        release_yaml: str | None = None,
    ) -> ReleaseRecord:
        """Make ``tag`` ready for the steps after ``release_candidate``: its record written
        (``record``), its bundle in the build store (``bundle``), the fake Airflows told
        which DAGs its code defines, and (with a record) the audit trail holding a pass of
        every step up to ``evidence_through`` (None: no evidence at all), as if those steps
        had run; ``release_yaml`` replaces the example's release.yaml in its bundle. Returns the
        record."""
        rec = make_record(tag, changed, dbt_models, base_release)
        if record:
            self.records.write(rec)
        if bundle:
            self.store().put_files(tag, bundle_files(tag, rec.dag_ids, models, release_yaml))
        if record and evidence_through is not None:
            self.pass_steps(tag, evidence_through)
        for env in (DEV, STAGING, PROD):
            self.airflow(env).define_release(tag, rec.dag_ids)
        return rec

    def write_table(
        self, environment: str, relation: str, rows: int, null_amounts: int = 0
    ) -> None:
        """Create ``relation`` in ``environment``'s warehouse (see ``table_sql``)."""
        self.warehouse(environment).execute(table_sql(relation, rows, null_amounts))

    def seed_live(self, environment: str, tag: str, tables: Mapping[str, int]) -> None:
        """Make ``tag`` (added with ``add_release``) live in ``environment`` as a switch would
        leave it: code published and live, ``tables`` (stable name -> rows) built in the
        release's schemas and the stable names pointing at them."""
        target = self.airflow_target(environment)
        env = self.environment(environment)
        publish_from_store(self.store(), env.artifacts, target, tag, env.spark)
        target.activate(tag)
        sources = release_sources(sorted(tables), tag)
        for table, rows in tables.items():
            self.write_table(environment, sources[table], rows)
        self.warehouse(environment).switch(tag, sources)

    def build_models_on_run(
        self,
        environment: str,
        rows: Mapping[str, int],
        code: str | None = None,
        **shape: Any,
    ) -> None:
        """As the real ``dbt_build`` DAG does: each successful run of ``dbt_build`` (or a
        canary copy of it) in ``environment`` builds ``rows`` (stable name -> row count) into
        the schemas with the run's ``schema_suffix`` (the release's schemas for a canary, the
        baseline's for the live code's run beside it). With ``code``, only runs of that
        release's code do (a copy ``dbt_build__canary_<code>``), so a test can make the
        release's code and the live code build different tables; ``shape`` are the other
        arguments of ``table_sql`` (``amount_shift``: a silent data change...)."""

        def effect(dag_id: str, conf: dict[str, object]) -> None:
            base, _, copy_of = dag_id.partition("__canary_")
            if base != "dbt_build" or (code is not None and copy_of != code):
                return
            suffix = str(conf.get("schema_suffix") or "")
            for table, count in rows.items():
                schema, name = table.split(".", 1)
                relation = f"{schema}{suffix}.{name}"
                self.warehouse(environment).execute(table_sql(relation, count, **shape))

        self.on_run(environment, effect)

    def on_run(self, environment: str, effect: RunEffect) -> None:
        self.airflow(environment).on_run(effect)

    def drop(self) -> None:
        """Forget every fake state of the world."""
        fake_airflow.drop_world(self.name)
        fake_warehouse.drop_world(self.name)
        fake_artifacts.drop_world(self.name)


def canary_relation(table: str, tag: str) -> str:
    """``marts.fct_orders``, ``v2`` -> ``marts__r_v2.fct_orders``."""
    schema, name = table.split(".", 1)
    return f"{schema}{release_suffix(tag)}.{name}"


def materialize(
    world: FakeWorld,
    instance: dg.DagsterInstance,
    steps: Sequence[dg.AssetsDefinition],
    tag: str,
    config: Mapping[str, object] | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize ``steps`` for release ``tag`` against the world's fakes (never raising);
    ``release_candidate`` is in the graph, unselected, so its stored record is loaded.
    ``config`` is the run config of the (one) step that takes config (redeploy's reason)."""
    instance.add_dynamic_partitions("releases", [tag])
    assets = [release_candidate, *(s for s in steps if s is not release_candidate)]
    return dg.materialize(
        assets,
        selection=list(steps),
        partition_key=tag,
        instance=instance,
        resources=world.resources(),
        raise_on_error=False,
        run_config=(
            {"ops": {steps[0].op.name: {"config": dict(config)}}} if config is not None else None
        ),
    )


def refusal_of(result: dg.ExecuteInProcessResult, step: str) -> str:
    """The reason an on-call step (rollback, redeploy) refused: its observation's
    ``refused`` metadata; the run itself succeeded and nothing was materialized."""
    assert result.success and not result.asset_materializations_for_node(step)
    for event in result.all_events:
        if event.event_type_value == "ASSET_OBSERVATION" and event.step_key == step:
            meta = event.event_specific_data.asset_observation.metadata  # type: ignore[union-attr]
            return str(meta["refused"].value)
    raise AssertionError(f"{step} neither materialized nor recorded a refusal")


def metadata_of(result: dg.ExecuteInProcessResult, step: str) -> dict[str, object]:
    """The metadata values of ``step``'s (only) materialization of its own asset (not the
    environment history it also records)."""
    own = [m for m in result.asset_materializations_for_node(step)]
    (mat,) = [m for m in own if m.asset_key.to_python_identifier() == step]
    return {k: v.value for k, v in mat.metadata.items()}


def materialized(result: dg.ExecuteInProcessResult, step: str) -> bool:
    """Whether ``step``'s own asset was materialized in the run."""
    return any(
        m.asset_key.to_python_identifier() == step
        for m in result.asset_materializations_for_node(step)
    )


def failure_of(result: dg.ExecuteInProcessResult, step: str) -> str:
    """What a person reads for ``step``'s failure: the ``dg.Failure`` description, else the
    error message with its causes."""
    data = result.failure_data_for_node(step)
    assert data is not None, f"{step} did not fail"
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description
    assert data.error is not None
    return data.error.to_string()


def failure_metadata(result: dg.ExecuteInProcessResult, step: str) -> dict[str, object]:
    data = result.failure_data_for_node(step)
    assert data is not None and data.user_failure_data is not None
    return {k: v.value for k, v in data.user_failure_data.metadata.items()}


def check_evaluation(result: dg.ExecuteInProcessResult, check: str) -> dg.AssetCheckEvaluation:
    """The (only) evaluation of the asset check ``check`` in the run."""
    found = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.asset_check_evaluation_data.check_name == check
    ]
    assert len(found) == 1, f"{len(found)} evaluations of {check}"
    return found[0]


def last_switch(world: FakeWorld) -> AuditRecord:
    """The newest audit record that changed what an environment runs (outcome ``live``: a
    rollback's data events come after it)."""
    return next(r for r in reversed(world.audit.records()) if r.event.outcome == "live")
