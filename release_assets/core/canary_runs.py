"""The canary and its baseline, built from the same inputs.

Kayenta's rule for services (Argo Rollouts' canary analysis) applied to data pipelines: the
baseline is not the live tables (other code, but also another data window) but the LIVE
release's code re-run beside the canary on the same data day, so a difference between the two is
the release's code and nothing else. Both are served as canary copies of their release's DAGs
(``AirflowTarget.publish_canary``) and run with a schema suffix of their own: the release's code
into ``<schema>__r_<release>`` (what prod switches to), the live code into
``<schema>__b_<release>`` (``baseline_suffix``). Both read the same production inputs: the data
day's source files and the warehouse tables the dbt project declares as sources, whose row
counts are taken before the baseline and after the canary (``InputsChanged`` when a load landed
in between: the comparison would not be like for like).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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


class InputsChanged(RuntimeError):
    """A source table changed between the baseline and the canary run; the message names
    each table with its row counts before and after."""


@dataclass(frozen=True)
class CanaryRuns:
    """What ran: live dag_id -> canary copy id for the release (``canary_ids``) and for the
    baseline (``baseline_ids``, empty when nothing is live), the baseline's release (None when
    nothing is live), the runs' markdown table, and the source tables' row counts the two sides
    read (``inputs``: ``schema.name`` -> rows)."""

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


def _changed(before: dict[str, int], after: dict[str, int]) -> list[str]:
    return [
        f"{name} ({before.get(name, 0)} -> {after.get(name, 0)} rows)"
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]


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
) -> CanaryRuns:
    """Serve both sides' copies (the canary's first: code that does not import fails before
    anything runs), run the baseline's waves, then the canary's, and check the ``sources``
    (``schema.name``) kept their row counts meanwhile. Raises ``RunFailed`` naming ``where``
    (and the baseline's label for its runs), ``DeploymentError`` when copies are not served
    in time, ``InputsChanged`` naming each moved source table."""
    canary_ids = serve_copies(target, canary.release, canary.waves)
    before = input_rows(warehouse, sources)
    results: list[DagRunResult] = []
    baseline_ids: dict[str, str] = {}
    if baseline is not None:
        baseline_ids = serve_copies(target, baseline.release, baseline.waves)
        results = run_in_waves(target, baseline.waves, baseline.run_id, baseline.conf, baseline_ids)
        fail_on_failed_run(
            results, results_table(results, target.url), f"{where}, {baseline.label}"
        )
    ran = run_in_waves(target, canary.waves, canary.run_id, canary.conf, canary_ids)
    results = [*results, *ran]
    table = results_table(results, target.url)
    fail_on_failed_run(ran, table, where)
    after = input_rows(warehouse, sources)
    moved = _changed(before, after)
    if moved:
        raise InputsChanged(
            f"{where}: source tables changed while the {baseline.label if baseline else 'baseline'}"
            f" and the {canary.label} ran, so they did not read the same inputs: "
            f"{', '.join(moved)}; re-materialize the step"
        )
    return CanaryRuns(
        canary_ids, baseline_ids, baseline.release if baseline else None, table, after
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
    waves = record.run_waves()
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
    return run_compared(target, warehouse, sources, baseline, canary, where)
