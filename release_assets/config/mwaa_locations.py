"""No two MWAA environments of a deployment (environments, or the colors of a blue/green one)
share DAG files: each reads its own S3 DAGs prefix. Two that overlap (the same bucket, and one
prefix equal to or under the other) would load each other's DAGs (a staging release would run
in prod; both colors of a blue/green environment would run one DAG), and an IAM role written
for one (``deploy iam-policies``) would reach the other's DAGs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from release_assets.config.blue_green_specs import MwaaBlueGreenAirflowSpec
from release_assets.config.mwaa_specs import MwaaAirflowSpec, MwaaDagsSpec

Where = tuple[int | str, ...]


def _dags_of(i: int, airflow: Any) -> Iterator[tuple[Where, MwaaDagsSpec]]:
    if isinstance(airflow, MwaaAirflowSpec):
        yield ("environments", i, "airflow", "dags"), airflow.dags
    elif isinstance(airflow, MwaaBlueGreenAirflowSpec):
        for color, spec in airflow.colors().items():
            yield ("environments", i, "airflow", color, "dags"), spec.dags


def _overlap(a: MwaaDagsSpec, b: MwaaDagsSpec) -> bool:
    if a.bucket != b.bucket:
        return False
    pa, pb = f"{a.prefix}/", f"{b.prefix}/"
    return pa.startswith(pb) or pb.startswith(pa)


def shared_dags_prefixes(airflows: Iterable[Any]) -> list[tuple[Where, str]]:
    """For the environments' ``airflow`` blocks in order, ``(location, message)`` for every
    MWAA DAGs prefix that overlaps one named before it (the message names both)."""
    seen: list[tuple[Where, MwaaDagsSpec]] = []
    faults: list[tuple[Where, str]] = []
    for i, airflow in enumerate(airflows):
        for where, dags in _dags_of(i, airflow):
            for other_where, other in seen:
                if _overlap(dags, other):
                    other_name = f"environments[{other_where[1]}]." + ".".join(
                        str(p) for p in other_where[2:]
                    )
                    faults.append(
                        (
                            where,
                            f"s3://{dags.bucket}/{dags.prefix} overlaps the DAGs prefix "
                            f"s3://{other.bucket}/{other.prefix} of {other_name}; "
                            "each MWAA environment (and each blue/green color) needs DAG "
                            "files of its own",
                        )
                    )
                    break
            seen.append((where, dags))
    return faults
