"""`staging_integration_run`: the changed DAGs and everything downstream, run in staging."""

import dagster as dg

from release_assets.core.changes import ChangeSet, topological_order
from release_assets.core.dag_runs import (
    dag_summaries,
    dbt_summary,
    fail_on_failed_run,
    results_table,
    run_in_order,
)
from release_assets.core.release_meta import recorded
from release_assets.defs.assets.staging_deployment import staging_deployment
from release_assets.defs.partitions import releases
from release_assets.defs.resources import AirflowEnvironment
from release_assets.settings import settings


@dg.asset(
    partitions_def=releases, deps=[staging_deployment], group_name="release", kinds={"airflow"}
)
def staging_integration_run(
    context: dg.AssetExecutionContext, airflow_staging: AirflowEnvironment
) -> dg.MaterializeResult[None]:
    tag = context.partition_key
    candidate = recorded(context, "release_candidate", tag)
    change = ChangeSet.from_dict(candidate["change_set"])
    order = topological_order(change.affected_dag_ids, dag_summaries(candidate["dag_graph"]))
    target = airflow_staging.target()
    conf: dict[str, object] = {"data_date": settings().integration_date, "release_id": tag}
    results = run_in_order(target, order, f"release__{tag}", conf)
    table = results_table(results, target.url)
    fail_on_failed_run(results, table, "staging")
    dbt = dbt_summary(target, results)
    return dg.MaterializeResult(
        metadata={
            "dag_runs": dg.MetadataValue.md(table),
            "dags_run": len(results),
            "data_date": settings().integration_date,
            **{f"dbt_{k}": v for k, v in dbt.items()},
        }
    )
