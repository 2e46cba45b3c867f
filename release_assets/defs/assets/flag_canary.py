"""`flag_canary`: the canary of a feature flag in production, judged like a release's.

The live release's code runs twice from the same inputs on the integration day: with the flag
off (into ``<schema>__fo_<flag>``) and with it on (``<schema>__fn_<flag>``), through canary
copies of the DAGs that read the flag (``release.yaml`` ``feature_flags[].dags``) and every DAG
downstream of them; both write only into their own schemas. The judge
(``release_assets.core.judge``) compares each critical table built on both sides; the outcome is
appended to the audit trail as the ``flag_canary`` record ``feature_flag`` reads before it turns
the flag on in production (``release_assets.core.flags``).
"""

import re
from pathlib import Path

import dagster as dg

from release_assets.config.release_config import parse_release_config
from release_assets.core.audit import AuditEvent
from release_assets.core.canary_runs import Side, run_compared
from release_assets.core.dag_order import dependency_waves, downstream_dags
from release_assets.core.flags import FLAG_CANARY_STEP, FLAG_KEY
from release_assets.core.judge import JudgedTable, judge
from release_assets.core.release_schemas import source_relations
from release_assets.defs.audit_log import actor_of, one_line, refuse
from release_assets.defs.failures import step_failures
from release_assets.defs.io_managers import ReleaseRecordStore
from release_assets.defs.judge_result import judged_result
from release_assets.defs.partitions import feature_flags
from release_assets.defs.resources import ReleasePlatform
from release_assets.runtimes.audit.base import AuditStore
from release_assets.runtimes.environment import Environment

CHECK = "flag_judge"


def flag_suffix(flag: str, enabled: bool) -> str:
    """``order_size_band``, on -> ``__fn_order_size_band``; off -> ``__fo_...``."""
    return ("__fn_" if enabled else "__fo_") + re.sub(r"[^a-z0-9_]", "_", flag.lower())


@dg.asset(
    name="flag_canary",
    key_prefix="on_call",
    group_name="on_call",
    partitions_def=feature_flags,
    check_specs=[dg.AssetCheckSpec(CHECK, asset=dg.AssetKey(["on_call", "flag_canary"]))],
    description="Run the live release's DAGs that read the partition's flag with the flag off "
    "and on from the same inputs, in production, into their own schemas, and judge the "
    "critical tables; turning the flag on in production needs this to have passed.",
)
def flag_canary(
    context: dg.AssetExecutionContext,
    production: Environment,
    audit: AuditStore,
    platform: ReleasePlatform,
    records: ReleaseRecordStore,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Refused (audit trail, nothing run) when nothing is live in production or the live
    release does not declare the flag; fails naming the DAG when a run fails or the source
    tables moved between the two sides. The check passes only on a "pass" verdict."""
    flag = context.partition_key
    target, warehouse = production.airflow, production.warehouse
    live = target.live_release()
    manifest = production.artifacts.manifest(live) if live else None
    if live is None or manifest is None:
        why = f"nothing is live in {production.name}: a flag canary runs the live release's code"
        refuse(context, audit, FLAG_CANARY_STEP, production.name, why)
        raise dg.Failure(why)
    text = production.artifacts.read_file(live, "release.yaml").decode()
    config = parse_release_config(text, Path(f"{live}/release.yaml"))
    declared = {f.name: f for f in config.feature_flags}
    if flag not in declared:
        why = (
            f"{flag} is not declared by {live}, live in {production.name} (its release.yaml "
            f"declares: {', '.join(sorted(declared)) or 'no flag'})"
        )
        refuse(context, audit, FLAG_CANARY_STEP, production.name, why)
        raise dg.Failure(why)
    record = records.read(live)
    summaries = record.summaries()
    unknown = sorted(set(declared[flag].dags) - set(summaries))
    if unknown:
        why = (
            f"{live}'s release.yaml says {flag} is read by {', '.join(unknown)}, which {live} "
            f"does not define (its DAGs: {', '.join(sorted(summaries))})"
        )
        refuse(context, audit, FLAG_CANARY_STEP, production.name, why)
        raise dg.Failure(why)
    roots = list(declared[flag].dags) or sorted(summaries)
    waves = dependency_waves([*roots, *downstream_dags(roots, summaries)], summaries)
    sides = {}
    for enabled in (False, True):
        state = "on" if enabled else "off"
        conf: dict[str, object] = {
            "data_date": platform.integration_date,
            "schema_suffix": flag_suffix(flag, enabled),
            "release_id": live,
            "feature_flags": {flag: enabled},
        }
        run_id = f"flag_{state}__{flag}__{live}"
        sides[enabled] = Side(live, waves, run_id, conf, f"{live}'s code with {flag} {state}")
    where = f"{production.name} (flag canary of {flag})"
    outcome, detail = "failed", ""
    try:
        with step_failures(where):
            sources = source_relations(production.artifacts, live)
            runs = run_compared(target, warehouse, sources, sides[False], sides[True], where)
            target.remove_canary(live)
        existing = set(warehouse.tables())
        tables = []
        for entry in config.critical_tables:
            schema, name = entry.table.split(".", 1)
            off, on = (f"{schema}{flag_suffix(flag, e)}.{name}" for e in (False, True))
            if on in existing:
                tables.append(JudgedTable.of(entry, off if off in existing else None, on))
        judgement = judge(warehouse, tables, config.judge, f"flag:{flag}")
        passed = judgement.verdict == "pass"
        outcome, detail = ("passed" if passed else "failed"), judgement.summary()
    except BaseException as exc:
        text = (exc.description if isinstance(exc, dg.Failure) else str(exc)) or ""
        detail = text or type(exc).__name__
        raise
    finally:
        audit.append(
            AuditEvent(
                action="step",
                outcome=outcome,
                actor=actor_of(context),
                release=live,
                step=FLAG_CANARY_STEP,
                environment=production.name,
                digest=manifest.digest,
                run_id=context.run.run_id,
                detail=one_line(detail)[:1000],
                data={FLAG_KEY: flag},
            )
        )
    return judged_result(
        CHECK,
        passed,
        detail,
        judgement.markdown(),
        judgement.numeric_metadata(),
        flag=flag,
        environment=production.name,
        live_release=live,
        dag_runs=dg.MetadataValue.md(runs.table),
    )
