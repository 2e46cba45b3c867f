"""`merged_tag_sensor`: a new release tag on the main line starts its release, exactly once."""

import json

import dagster as dg

from release_assets.config.release_config import parse_release_config
from release_assets.core.git_repo import GitError
from release_assets.defs.jobs import release_job
from release_assets.defs.partitions import releases
from release_assets.defs.resources import PipelinesRepoResource


@dg.sensor(
    name="merged_tag_sensor",
    job=release_job,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds a partition and launches the release job for each new tag on main.",
)
def merged_tag_sensor(
    context: dg.SensorEvaluationContext, pipelines_repo: PipelinesRepoResource
) -> dg.SensorResult | dg.SkipReason:
    try:
        repo = pipelines_repo.repo()
        repo.refresh()
        config = parse_release_config(repo.read("HEAD", "release.yaml"), repo.path / "release.yaml")
    except (GitError, ValueError) as exc:
        return dg.SkipReason(f"cannot read the pipelines repository: {exc}")
    seen: set[str] = set(json.loads(context.cursor)) if context.cursor else set()
    branch = config.git.main_branch
    tags = repo.tags(config.git.tag_pattern)
    dates = repo.tag_dates()
    new = sorted((t for t in tags if t not in seen), key=lambda t: (dates.get(t, 0), t))
    requests = []
    for tag in new:
        commit = tags[tag]
        seen.add(tag)
        if not repo.is_on_branch(commit, branch):
            context.log.info(f"tag {tag} ({commit[:10]}) is not on {branch}: not released")
            continue
        requests.append(
            dg.RunRequest(
                run_key=f"release-{tag}",
                partition_key=tag,
                tags={"release": tag, "commit": commit},
            )
        )
    if not new:
        return dg.SkipReason(f"no new tag matching {config.git.tag_pattern!r}")
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[
            releases.build_add_request([r.partition_key for r in requests if r.partition_key])
        ],
        cursor=json.dumps(sorted(seen)),
    )
