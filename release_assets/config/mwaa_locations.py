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
    pa, pb = f"{a.prefix}/", f"{b.prefix}/"
    return a.bucket == b.bucket and (pa.startswith(pb) or pb.startswith(pa))


def _named(where: Where) -> str:
    """``("environments", 1, "airflow", "dags")`` -> ``environments[1].airflow.dags``."""
    return f"environments[{where[1]}]." + ".".join(str(p) for p in where[2:])


def shared_dags_prefixes(airflows: Iterable[Any]) -> list[tuple[Where, str]]:
    """For the environments' ``airflow`` blocks in order, ``(location, message)`` for every
    MWAA DAGs prefix that overlaps one named before it (the message names both)."""
    seen: list[tuple[Where, MwaaDagsSpec]] = []
    faults: list[tuple[Where, str]] = []
    for i, airflow in enumerate(airflows):
        for where, dags in _dags_of(i, airflow):
            clash = next(((w, d) for w, d in seen if _overlap(dags, d)), None)
            if clash is not None:
                faults.append(
                    (
                        where,
                        f"s3://{dags.bucket}/{dags.prefix} overlaps the DAGs prefix "
                        f"s3://{clash[1].bucket}/{clash[1].prefix} of {_named(clash[0])}; "
                        "each MWAA environment (and each blue/green color) needs DAG files "
                        "of its own",
                    )
                )
            seen.append((where, dags))
    return faults
