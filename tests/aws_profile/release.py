"""Releasing the example through the AWS-shaped profile the way a user does: a git tag,
``merged_tag_sensor``'s run request executed as the job it names (the ``release`` job: the
validation gates, staging on MWAA, the canary on Airflow 3, the regression check, the prod
swap), signed approvals and ``approval_sensor``'s ``promote`` run when prod holds the release,
and the ``rollback`` job (what ``release-assets rollback`` runs).

``ProfileRelease.of(profile, root)`` points this process's settings at the profile (its
deployment file, Dagster instance on PostgreSQL, runtimes) and at a git repository of the
example under ``root`` whose allowed signers are ``tests.defs.release_stack.APPROVERS``; the
caller restores the environment (``pytest.MonkeyPatch``, or ``environment()``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
from click.testing import CliRunner

from release_assets.cli.demo_approvals import allowed_signers
from release_assets.cli.main import main
from release_assets.defs.approval_sensor import approval_sensor
from release_assets.defs.definitions import bound_resources, defs
from release_assets.settings import settings as settings_cache
from tests.aws_profile.stack import Profile
from tests.defs.release_stack import APPROVERS, approve_prod, approver_keys, evaluate_tag_sensor
from tests.environ import patched_environ
from tests.pipelines_git import PipelinesGit, make_pipelines_git

CANARY = "__canary_"


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` in this process's environment for the duration (settings re-read on enter
    and exit); restores what was there."""
    with patched_environ(values):
        settings_cache.cache_clear()
        try:
            yield
        finally:
            settings_cache.cache_clear()


def release_env(profile: Profile, root: Path, repo: Path) -> dict[str, str]:
    """The profile's settings plus the release's: the git repository releases are cut from,
    a cache folder, the actor recorded in the audit trail."""
    return {
        **profile.env,
        "RELEASE_ASSETS_GIT_REPO": str(repo),
        "RELEASE_ASSETS_CACHE_DIR": str(root / "cache"),
        "RELEASE_ASSETS_ACTOR": "aws-profile-e2e",
    }


@dataclass
class ProfileRelease:
    """The profile, the example's git repository, the approvers' keys, the profile's Dagster
    instance and the tag sensor's cursor."""

    profile: Profile
    repo: PipelinesGit
    keys: dict[str, Path]
    instance: dg.DagsterInstance
    cursor: str | None = None
    runs: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def prepare(cls, profile: Profile, root: Path) -> tuple[PipelinesGit, dict[str, Path]]:
        """The example as a git repository under ``root`` (approvers' keys in its allowed
        signers)."""
        keys = approver_keys(root / "keys")
        repo = make_pipelines_git(root / "northstar-git", allowed_signers(keys))
        return repo, keys

    def sensor(self) -> dg.SensorResult | dg.SkipReason:
        """Evaluate ``merged_tag_sensor`` once from the current cursor (which advances)."""
        result, self.cursor = evaluate_tag_sensor(self.instance, self.cursor)
        return result

    def release(self, tag: str) -> dg.ExecuteInProcessResult:
        """Tag HEAD ``tag`` and run the sensor's one run request as the job it names."""
        self.repo.tag(tag)
        result = self.sensor()
        assert isinstance(result, dg.SensorResult), result
        (request,) = result.run_requests or []
        assert request.partition_key == tag and request.tags["release"] == tag
        job = defs().resolve_job_def(request.job_name or "release")
        run = job.execute_in_process(
            run_config=request.run_config,
            partition_key=tag,
            instance=self.instance,
            tags=request.tags,
            raise_on_error=False,
        )
        self.runs.setdefault(tag, []).append(run.run_id)
        return run

    def approve_all(self, tag: str) -> None:
        """``release-assets approve <tag> --environment prod`` by each approver whose team
        must approve (the others are refused as not members of such a team)."""
        outputs = []
        for principal in APPROVERS:
            result = approve_prod(tag, self.keys[principal], principal)
            if result.exit_code != 0 and "not a member of a team that must" in result.output:
                outputs.append(result.output)
                continue
            assert result.exit_code == 0, result.output
        assert len(outputs) < len(APPROVERS), outputs

    def resume(self, tag: str) -> dg.ExecuteInProcessResult | None:
        """Evaluate ``approval_sensor`` once; run the ``promote`` run it requests for ``tag``
        (None when it requests nothing: prod did not wait for an approval)."""
        with dg.build_sensor_context(instance=self.instance, resources=defs().resources) as ctx:
            result = approval_sensor(ctx)
        if not isinstance(result, dg.SensorResult) or not result.run_requests:
            return None
        (request,) = result.run_requests
        assert request.partition_key == tag and request.job_name == "promote"
        run = (
            defs()
            .resolve_job_def("promote")
            .execute_in_process(
                partition_key=tag, instance=self.instance, tags=request.tags, raise_on_error=False
            )
        )
        self.runs[tag].append(run.run_id)
        return run

    def to_prod(self, tag: str) -> list[dg.ExecuteInProcessResult]:
        """Tag, release, and when prod waits for approvals: approve and resume. The runs."""
        runs = [self.release(tag)]
        if runs[0].success and self.live_release() != tag:
            self.approve_all(tag)
            resumed = self.resume(tag)
            if resumed is not None:
                runs.append(resumed)
        return runs

    def rollback(self, tag: str) -> tuple[int, str]:
        """``release-assets rollback <tag>`` (the on-call command): exit code and output."""
        settings_cache.cache_clear()
        result = CliRunner().invoke(main, ["rollback", tag])
        return result.exit_code, result.output

    def resources(self) -> dict[str, Any]:
        return bound_resources()

    def served(self) -> set[str | None]:
        """The releases prod's Airflow 3 serves DAGs of (canary DAGs left out)."""
        prod = self.resources()["env_prod"].airflow
        return {d.release for d in prod.list_dags() if CANARY not in d.dag_id}

    def live_release(self) -> str | None:
        served = self.served() - {None}
        return served.pop() if len(served) == 1 else None


def failures(result: dg.ExecuteInProcessResult) -> list[str]:
    """The messages of the run's failure events."""
    return [e.message or "" for e in result.all_events if e.is_failure]
