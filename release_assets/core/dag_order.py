"""Orders over the DAGs of a release, from the Datasets each DAG consumes and produces: what is
downstream of a change, in which order DAGs run, and which can run together."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from release_assets.runtimes.airflow.dag_probe import DagSummary


def downstream_dags(roots: Iterable[str], dags: Mapping[str, DagSummary]) -> list[str]:
    """DAGs reached from ``roots`` through Datasets they produce and others consume (the roots
    left out), sorted."""
    consumers: dict[str, set[str]] = {}
    for summary in dags.values():
        for uri in summary.consumes:
            consumers.setdefault(uri, set()).add(summary.dag_id)
    seen: set[str] = set(roots)
    frontier = list(seen)
    while frontier:
        dag_id = frontier.pop()
        produced = dags[dag_id].produces if dag_id in dags else []
        for uri in produced:
            for consumer in consumers.get(uri, set()) - seen:
                seen.add(consumer)
                frontier.append(consumer)
    return sorted(seen - set(roots))


def topological_order(dag_ids: Iterable[str], dags: Mapping[str, DagSummary]) -> list[str]:
    """``dag_ids`` ordered so every producer of a Dataset runs before its consumers."""
    wanted = set(dag_ids)
    producers: dict[str, set[str]] = {}
    for summary in dags.values():
        for uri in summary.produces:
            producers.setdefault(uri, set()).add(summary.dag_id)
    order: list[str] = []
    placed: set[str] = set()

    def place(dag_id: str, trail: tuple[str, ...]) -> None:
        if dag_id in placed or dag_id in trail:
            return
        for uri in dags[dag_id].consumes if dag_id in dags else []:
            for producer in sorted(producers.get(uri, set()) & wanted):
                place(producer, (*trail, dag_id))
        placed.add(dag_id)
        order.append(dag_id)

    for dag_id in sorted(wanted):
        place(dag_id, ())
    return order


def dependency_waves(dag_ids: Iterable[str], dags: Mapping[str, DagSummary]) -> list[list[str]]:
    """``dag_ids`` in waves: a DAG is in the wave after the last wave holding a producer (among
    ``dag_ids``) of a Dataset it consumes; DAGs of one wave do not depend on each other. The
    flattened waves are ``topological_order`` of the same DAGs (cycles are broken as there)."""
    order = topological_order(dag_ids, dags)
    wanted = set(order)
    producers: dict[str, set[str]] = {}
    for summary in dags.values():
        for uri in summary.produces:
            producers.setdefault(uri, set()).add(summary.dag_id)
    level: dict[str, int] = {}
    for dag_id in order:  # producers come first, so their level is known
        consumes = dags[dag_id].consumes if dag_id in dags else []
        upstream = {p for uri in consumes for p in producers.get(uri, set()) & wanted}
        level[dag_id] = 1 + max((level[p] for p in upstream if p in level), default=-1)
    waves: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for dag_id in order:
        waves[level[dag_id]].append(dag_id)
    return waves
