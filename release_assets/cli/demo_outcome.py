"""What happened to a release, read from the Dagster instance's event records: whether its
runs succeeded, and which blocking checks and steps failed. The demo prints it for every tag,
and the slow test of the demo's releases asserts on it, so both read the same records."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

RELEASE_TAG = "release"
"""Run tag that ``merged_tag_sensor`` puts on every release run (value: the git tag)."""


@dataclass(frozen=True)
class FailedCheck:
    """A failed asset check of ERROR severity: it blocks the steps downstream of its asset."""

    asset: str  # asset key as the UI writes it, e.g. "release_candidate"
    check: str  # check name, e.g. "dbt" or "no_regression"
    description: str  # the check's own description (its first finding or its verdicts)

    def __str__(self) -> str:
        return f"{self.asset} check {self.check}: {self.description}"


@dataclass(frozen=True)
class FailedStep:
    """A step (op) that failed, with the error message Dagster recorded."""

    step: str
    message: str

    def __str__(self) -> str:
        return f"step {self.step}: {self.message}"


@dataclass(frozen=True)
class ReleaseOutcome:
    """The runs of one release (partition = git tag) as recorded by Dagster."""

    tag: str
    runs: int  # runs tagged with this release
    finished: bool  # every run has finished (succeeded, failed or canceled)
    succeeded: bool  # at least one run, and every run succeeded
    failed_checks: tuple[FailedCheck, ...]
    failed_steps: tuple[FailedStep, ...]
    run_failures: tuple[str, ...]  # run-level failure messages (e.g. a run that never started)
    went_live: bool = False  # a prod_swap of the release materialized in one of its runs
    waiting: str = ""  # the approval step's last "waiting" observation, when it never went live

    @property
    def stopped_by(self) -> list[tuple[str, str]]:
        """``(asset, check)`` of each failed blocking check, in the order they were recorded."""
        return [(c.asset, c.check) for c in self.failed_checks]

    def describe(self) -> str:
        """One line: what stopped the release (failed checks first: a step that fails because
        its blocking check failed is a consequence), else the failed steps, else the run."""
        if self.runs == 0:
            return f"{self.tag}: no run recorded"
        if not self.finished:
            return f"{self.tag}: still running"
        if self.succeeded and self.waiting and not self.went_live:
            return f"{self.tag}: {self.waiting}"
        if self.succeeded:
            return f"{self.tag}: succeeded"
        causes = self.failed_checks or self.failed_steps or self.run_failures
        if not causes:
            return f"{self.tag}: failed, with no failed check or step recorded"
        return f"{self.tag}: stopped by " + "; ".join(str(c) for c in causes)


def release_runs(instance: dg.DagsterInstance, tag: str) -> list[dg.DagsterRun]:
    """The runs tagged ``release=<tag>`` (newest first, as the instance returns them)."""
    return list(instance.get_runs(dg.RunsFilter(tags={RELEASE_TAG: tag})))


def release_outcome(instance: dg.DagsterInstance, tag: str) -> ReleaseOutcome:
    """Read the outcome of release ``tag`` from the event records of its runs.

    Only records are read (check evaluations, step and run failures): nothing is assumed
    from which tag it is or what the demo expected."""
    runs = release_runs(instance, tag)
    checks: list[FailedCheck] = []
    steps: list[FailedStep] = []
    run_failures: list[str] = []
    went_live = False
    waiting = ""
    for run in reversed(runs):  # oldest first
        for record in instance.get_records_for_run(run.run_id).records:
            event = record.event_log_entry.dagster_event
            if event is None:
                continue
            if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
                data = event.asset_check_evaluation_data
                if not data.passed and data.severity == dg.AssetCheckSeverity.ERROR:
                    checks.append(
                        FailedCheck(
                            data.asset_key.to_user_string(),
                            data.check_name,
                            data.description or "(no description)",
                        )
                    )
            elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
                failure = event.step_failure_data
                user = failure.user_failure_data  # a dg.Failure: its own description
                if user is not None and user.description:
                    message = user.description
                elif failure.error is not None:
                    message = failure.error.message.strip()
                else:
                    message = "(no error recorded)"
                steps.append(FailedStep(event.step_key or "?", message))
            elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
                went_live = went_live or event.asset_key == dg.AssetKey("prod_swap")
            elif event.event_type == dg.DagsterEventType.ASSET_OBSERVATION:
                seen = event.event_specific_data.asset_observation  # type: ignore[union-attr]
                status = seen.metadata.get("status")
                if event.asset_key == dg.AssetKey("approval") and status is not None:
                    waiting = seen.description or "" if status.value == "waiting" else ""
            elif event.event_type == dg.DagsterEventType.RUN_FAILURE:
                run_failures.append(event.message or f"run {run.run_id} failed")
    return ReleaseOutcome(
        tag=tag,
        runs=len(runs),
        finished=bool(runs) and all(r.is_finished for r in runs),
        succeeded=bool(runs) and all(r.is_success for r in runs),
        failed_checks=tuple(checks),
        failed_steps=tuple(steps),
        run_failures=tuple(run_failures),
        went_live=went_live,
        waiting="" if went_live else waiting,
    )
