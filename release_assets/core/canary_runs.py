"""The canary and its baseline, built from the same inputs.

Kayenta's rule for services (Argo Rollouts' canary analysis) applied to data pipelines: the
baseline is not the live tables (other code, but also another data window) but the LIVE
release's code re-run beside the canary on the same data day, so a difference between the two is
the release's code and nothing else. Both are served as canary copies of their release's DAGs
(``AirflowTarget.publish_canary``) and run with a schema suffix of their own: the release's code
into ``<schema>__r_<release>`` (what prod switches to), the live code into
``<schema>__b_<release>`` (``baseline_suffix``). Both read one input snapshot: before the
baseline runs, every table the dbt project declares as a source is copied into
``<schema>__i_<release>`` (``input_suffix``; ``Warehouse.snapshot_tables``) and both sides get
its suffix as the conf key ``source_suffix``, so a scheduled load landing while they run does
not reach either side. The data day's source files are the same for both by construction.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from release_assets.core.dag_runs import fail_on_failed_run, results_table, run_in_waves
from release_assets.core.deploy import SERVE_TIMEOUT_S, wait_until_serving
from release_assets.core.release_schemas import release_suffix, source_relations
from release_assets.runtimes.airflow.types import DagRunResult

if TYPE_CHECKING:
    from release_assets.core.record import ReleaseRecord
    from release_assets.runtimes.airflow.base import AirflowTarget
    from release_assets.runtimes.artifacts.base import ArtifactStore
    from release_assets.runtimes.warehouse.base import Warehouse


def baseline_suffix(release_id: str) -> str:
    """``v2.1-rc`` -> ``__b_v2_1_rc``: the schemas the live code's baseline run for the
    release's judge writes into (``release_suffix`` is the release's own)."""
    return "__b_" + re.sub(r"[^a-z0-9_]", "_", release_id.lower())


def input_suffix(release_id: str) -> str:
    """``v2.1-rc`` -> ``__i_v2_1_rc``: the schemas holding the input snapshot both sides of
    the release's canary read (``<schema>__i_<release>.<table>``)."""
    return "__i_" + re.sub(r"[^a-z0-9_]", "_", release_id.lower())


def snapshot_suffix_of(run_id: str) -> str:
    """The input snapshot suffix of a comparison whose canary side runs as ``run_id``:
    ``__i_`` + the run id made schema-safe, or ``__i_`` + 16 hex digits of its SHA-256 when
    that would exceed 48 characters after ``__`` (the suffix rule of the DAGs)."""
    safe = re.sub(r"[^a-z0-9_]", "_", run_id.lower())
    if len(safe) <= 46:
        return f"__i_{safe}"
    return "__i_" + hashlib.sha256(run_id.encode()).hexdigest()[:16]


SOURCE_SUFFIX_KEY = "source_suffix"
"""The conf key naming the input snapshot's suffix: the DAGs read ``<schema><suffix>``."""


@dataclass(frozen=True)
class CanaryRuns:
    """What ran: live dag_id -> canary copy id for the release (``canary_ids``) and for the
    baseline (``baseline_ids``, empty when nothing is live), the baseline's release (None when
    nothing is live), the runs' markdown table, and the row counts of the input snapshot the
    two sides read (``inputs``: snapshot ``schema.name`` -> rows, e.g. ``raw__i_v2.orders``)."""

    canary_ids: dict[str, str]
    baseline_ids: dict[str, str]
    baseline_release: str | None
    table: str
    inputs: dict[str, int]


def input_rows(warehouse: Warehouse, relations: list[str]) -> dict[str, int]:
    """Row count of each relation that exists (one ``count(*)`` each)."""
    existing = set(warehouse.tables())
    counts = {}
    for relation in relations:
        if relation in existing:
            (row,) = warehouse.query(f"select count(*) from {warehouse.quote_relation(relation)}")
            counts[relation] = int(row[0])
    return counts


def input_snapshot(warehouse: Warehouse, sources: list[str], suffix: str) -> dict[str, str]:
    """Source -> its copy in the input snapshot ``<schema><suffix>``: the copies already there
    when every existing source has one (a re-run), else a new snapshot
    (``Warehouse.snapshot_tables``). No side reads a snapshot before it is complete, so an
    incomplete one (Snowflake copies table by table) was read by nobody and is retaken."""
    existing = set(warehouse.tables())
    wanted = {}
    for relation in sources:
        if relation in existing:
            schema, name = relation.split(".", 1)
            wanted[relation] = f"{schema}{suffix}.{name}"
    if wanted and set(wanted.values()) <= existing:
        return wanted
    return warehouse.snapshot_tables(sources, suffix)


def serve_copies(target: AirflowTarget, serving: str, waves: list[list[str]]) -> dict[str, str]:
    """Serve canary copies of ``serving``'s DAGs in ``waves`` and wait (bounded) until they
    are parsed; returns live id -> copy id. ``DeploymentError`` names the files that do not
    import."""
    ids = target.publish_canary(serving, [d for wave in waves for d in wave])
    wait_until_serving(target, serving, set(ids.values()), SERVE_TIMEOUT_S)
    return ids


def _conf(data_date: str, suffix: str, release_id: str) -> dict[str, object]:
    return {"data_date": data_date, "schema_suffix": suffix, "release_id": release_id}


@dataclass(frozen=True)
class Side:
    """One side of a comparison: whose code runs (``release``: canary copies of its DAGs),
    which DAGs in dependency waves, the run id (a re-run reuses the runs), the conf its runs
    get (``data_date``, ``schema_suffix``, ``release_id``, flags...) and ``label``, how
    failures name it ("baseline on v1's code")."""

    release: str
    waves: list[list[str]]
    run_id: str
    conf: dict[str, object]
    label: str


def run_compared(
    target: AirflowTarget,
    warehouse: Warehouse,
    sources: list[str],
    baseline: Side | None,
    canary: Side,
    where: str,
    snapshot: str | None = None,
) -> CanaryRuns:
    """Serve both sides' copies (the canary's first: code that does not import fails before
    anything runs), copy the ``sources`` (``schema.name``) into the input snapshot
    ``<schema><snapshot>`` (default: ``snapshot_suffix_of(canary.run_id)``), then run the
    baseline's waves and the canary's, each with ``source_suffix: <snapshot>`` added to its
    conf. The snapshot is taken once: a re-run, which reuses the runs (keyed by run id), reuses
    it too, so both sides always read the same rows. Raises ``RunFailed`` naming ``where`` (and
    the baseline's label for its runs), ``DeploymentError`` when copies are not served in time,
    ``WarehouseError`` when the snapshot cannot be taken (before anything runs)."""
    suffix = snapshot or snapshot_suffix_of(canary.run_id)
    canary_ids = serve_copies(target, canary.release, canary.waves)
    copies = input_snapshot(warehouse, sources, suffix)
    inputs = input_rows(warehouse, list(copies.values()))
    results: list[DagRunResult] = []
    baseline_ids: dict[str, str] = {}
    if baseline is not None:
        baseline = replace(baseline, conf={**baseline.conf, SOURCE_SUFFIX_KEY: suffix})
        baseline_ids = serve_copies(target, baseline.release, baseline.waves)
        results = run_in_waves(target, baseline.waves, baseline.run_id, baseline.conf, baseline_ids)
        fail_on_failed_run(
            results, results_table(results, target.url), f"{where}, {baseline.label}"
        )
    canary = replace(canary, conf={**canary.conf, SOURCE_SUFFIX_KEY: suffix})
    ran = run_in_waves(target, canary.waves, canary.run_id, canary.conf, canary_ids)
    results = [*results, *ran]
    table = results_table(results, target.url)
    fail_on_failed_run(ran, table, where)
    return CanaryRuns(
        canary_ids, baseline_ids, baseline.release if baseline else None, table, inputs
    )


def run_canary_and_baseline(
    target: AirflowTarget,
    warehouse: Warehouse,
    store: ArtifactStore,
    record: ReleaseRecord,
    live: str | None,
    data_date: str,
    where: str,
) -> CanaryRuns:
    """A release's canary (its code into ``__r_<release>``) and, when something else is
    live, its baseline (the live code into ``__b_<release>``) on ``data_date``
    (``run_compared``). The baseline runs the DAGs of the release's waves that the live
    release defines (a DAG new in the release has no baseline)."""
    tag = record.release
    waves = record.canary_waves()
    baseline = None
    if live is not None and live != tag:
        defined = {d.dag_id for d in target.list_dags() if d.release == live}
        live_waves = [kept for wave in waves if (kept := [d for d in wave if d in defined])]
        if live_waves:
            conf = _conf(data_date, baseline_suffix(tag), tag)
            baseline = Side(
                live, live_waves, f"baseline__{tag}", conf, f"baseline on {live}'s code"
            )
    conf = _conf(data_date, release_suffix(tag), tag)
    canary = Side(tag, waves, f"canary__{tag}", conf, f"canary of {tag}")
    sources = source_relations(store, tag)
    return run_compared(target, warehouse, sources, baseline, canary, where, input_suffix(tag))
