"""The cross-DAG dependency graph of a release (Datasets, sensors, triggers) and its cycles."""

from __future__ import annotations

from typing import Any

from release_assets.validation.inputs.dag_index import DagIndex


def dependency_edges(index: DagIndex) -> dict[str, set[str]]:
    """dag_id -> the DAGs that run because of it (consume its Datasets, wait on it with an
    ExternalTaskSensor, or are triggered by it)."""
    edges: dict[str, set[str]] = {}
    dags: dict[str, dict[str, Any]] = {}
    for parse in index.files.values():
        dags.update(parse.dags)
    producers: dict[str, set[str]] = {}
    for dag_id, info in dags.items():
        edges.setdefault(dag_id, set())
        for uri in info["produces"]:
            producers.setdefault(uri, set()).add(dag_id)
    for dag_id, info in dags.items():
        for uri in info["consumes"]:
            for producer in producers.get(uri, set()):
                edges[producer].add(dag_id)
        for ref in info["refs"]:
            if ref["dag_id"] not in dags:
                continue
            if ref["kind"] == "external_task":
                edges[ref["dag_id"]].add(dag_id)
            else:
                edges[dag_id].add(ref["dag_id"])
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Each elementary cycle found by a depth-first search, once, as a dag_id path."""
    found: list[list[str]] = []
    seen_sets: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, set())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :]
                if frozenset(cycle) not in seen_sets:
                    seen_sets.add(frozenset(cycle))
                    found.append([*cycle, nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    return found
