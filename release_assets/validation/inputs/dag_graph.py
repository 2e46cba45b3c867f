"""The cross-DAG dependency graph of a release (Datasets, sensors, triggers) and its cycles, and
the Dataset schedules of DAGs read with Airflow's semantics.

A DAG's Dataset schedule is the condition Airflow serializes (``DagModel.dataset_expression``,
``BaseDataset.as_expression`` in Airflow 2.9+): a URI string, ``{"any": [...]}`` for ``a | b``,
``{"all": [...]}`` for ``a & b`` or a list schedule, nested, or ``{"alias": name}`` for a
``DatasetAlias`` (resolved only when a task runs). The DAG probe records it per DAG as
``consumes_expr``.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from release_assets.validation.inputs.dag_index import DagIndex

# Timetable summaries (``Timetable.summary`` in Airflow 2.x) of schedules that create no
# time-based runs: catchup means nothing for them.
_UNTIMED = frozenset({"None", "@once", "@continuous", "Dataset", "Unresolved DatasetAlias"})


def dependency_edges(index: DagIndex) -> dict[str, set[str]]:
    """dag_id -> the DAGs that run because of it (consume its Datasets, wait on it with an
    ExternalTaskSensor, or are triggered by it). An ``ExternalTaskMarker`` is no edge: it
    only clears the other DAG's task when its own is cleared (Airflow's parent/child pattern
    pairs it with a sensor in the child, which is the edge)."""
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
            if ref["dag_id"] not in dags or ref["kind"] == "marker":
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


# -- Dataset schedules -------------------------------------------------------------------------
def is_time_scheduled(info: dict[str, Any]) -> bool:
    """Whether a probed DAG has time-based runs (a cron, a timedelta, a timetable, also
    ``DatasetOrTimeSchedule``), the only schedules for which ``catchup`` means something."""
    return str(info.get("schedule", "")) not in _UNTIMED


def runs_on_time_too(info: dict[str, Any]) -> bool:
    """Whether a Dataset-scheduled DAG also runs on a timetable (``DatasetOrTimeSchedule``,
    whose summary is ``"Dataset or <timetable>"``)."""
    return str(info.get("schedule", "")).startswith("Dataset or ")


def dataset_condition(info: dict[str, Any]) -> Any:
    """A probed DAG's Dataset condition (see the module doc), None when it is not
    Dataset-scheduled. A parse without ``consumes_expr`` reads as "all of ``consumes``"."""
    if "consumes_expr" in info:
        return info["consumes_expr"]
    consumes = list(info.get("consumes") or [])
    return {"all": consumes} if consumes else None


def satisfiable(condition: Any, produced: Container[str]) -> bool:
    """Whether updates of the ``produced`` URIs can make ``condition`` true (Airflow's
    ``BaseDataset.evaluate``): a URI when produced; ``any`` when one branch can, ``all`` when
    every branch can. An alias is resolved from task events at run time, so it counts as
    satisfiable."""
    if condition is None:
        return True
    if isinstance(condition, str):
        return condition in produced
    if "alias" in condition:
        return True
    if "any" in condition:
        return any(satisfiable(c, produced) for c in condition["any"])
    return all(satisfiable(c, produced) for c in condition.get("all", []))


def condition_uris(condition: Any) -> list[str]:
    """Every URI of ``condition``, in order of appearance, once."""
    if condition is None:
        return []
    if isinstance(condition, str):
        return [condition]
    out: list[str] = []
    for key in ("any", "all"):
        for part in condition.get(key, []):
            out += [u for u in condition_uris(part) if u not in out]
    return out


def condition_text(condition: Any, nested: bool = False) -> str:
    """``condition`` as Python's Dataset operators write it, URIs quoted:
    ``'a' | ('b' & 'c')``."""
    if isinstance(condition, str):
        return repr(condition)
    if "alias" in condition:
        return f"DatasetAlias({condition['alias']!r})"
    op, parts = ("|", condition["any"]) if "any" in condition else ("&", condition["all"])
    if len(parts) == 1:
        return condition_text(parts[0], nested)
    text = f" {op} ".join(condition_text(p, nested=True) for p in parts)
    return f"({text})" if nested else text
