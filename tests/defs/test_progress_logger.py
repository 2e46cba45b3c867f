"""The `progress` logger, as the CLI configures it for a run in its own process: each line a
step logs at INFO, in order, as it is logged; none of Dagster's own events, no traceback, no
warning or failure (the command prints its outcome itself)."""

import dagster as dg
import pytest

from release_assets.defs.progress_logger import LOGGERS, PROGRESS_ONLY


@dg.op
def rebuild(context: dg.OpExecutionContext) -> None:
    context.log.debug("resolved 3 DAGs")  # below INFO: not progress
    context.log.info("re-loading ingest_orders 2026-11-30 with v1")
    context.log.info("rebuilding dbt_build with v1 (full refresh)")
    context.log.warning("rollback refused: v2 is not live")
    raise dg.Failure("dbt_build run rollback_v2__rebuild failed")


@dg.job(logger_defs=LOGGERS)
def rollback_like() -> None:
    rebuild()


def test_only_the_steps_own_lines_are_printed_as_they_are_logged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = rollback_like.execute_in_process(run_config=PROGRESS_ONLY, raise_on_error=False)

    assert not result.success
    assert capsys.readouterr().err.splitlines() == [
        "  re-loading ingest_orders 2026-11-30 with v1",
        "  rebuilding dbt_build with v1 (full refresh)",
    ]


def test_verbose_runs_keep_dagsters_console_logger(capsys: pytest.CaptureFixture[str]) -> None:
    rollback_like.execute_in_process(raise_on_error=False)

    err = capsys.readouterr().err
    assert "STEP_FAILURE" in err and "re-loading ingest_orders" in err
