"""Broken cross-DAG references of a release (Dataset schedules, ExternalTaskSensor and
ExternalTaskMarker targets, TriggerDagRunOperator targets), each reported with both ends.

- A Dataset schedule is evaluated as Airflow does (``dag_graph.satisfiable``): ``a | (b & c)``
  runs when ``a`` is produced. A DAG whose schedule no produced Dataset can satisfy would never
  run (an error; a warning when it also runs on a timetable); a satisfiable schedule naming a
  Dataset nobody produces is a warning (that branch never fires).
- Both ends: an unresolved name is compared (``difflib``) with the names the release does have
  that nothing refers to (a Dataset produced and consumed by nobody, a dag_id, a task_id). When
  the near name's file changed and the referring file did not, the finding is placed at the
  changed file and names it first; otherwise (the referrer changed, or a full validation) at the
  referrer, naming the near name and its file. "any more" is said only when the base tree's
  version of the changed file names the missing URI or id.
- Knock-on: a reference that only resolves to something a DAG file that does not import names
  (a URI or dag_id literal in its text, or a ``NAME = Dataset("uri")`` of the DAGs folder it
  uses) is folded into one finding at that file, a warning when the file is selected (the
  ``dag_integrity`` gate reports its import error), else an error naming the import error.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from release_assets.validation.context import ValidationContext
from release_assets.validation.findings import Finding
from release_assets.validation.inputs.dag_graph import (
    condition_text,
    condition_uris,
    dataset_condition,
    runs_on_time_too,
    satisfiable,
)
from release_assets.validation.inputs.dag_index import DagIndex
from release_assets.validation.inputs.dag_source import call_for, dag_calls, line_of

_VERB = {"external_task": "waits on", "trigger": "triggers", "marker": "marks (ExternalTaskMarker)"}
_CONSTANT = re.compile(
    r"""^\s*([A-Za-z_]\w*)\s*=\s*Dataset\(\s*(?:uri\s*=\s*)?["']([^"']+)["']""", re.M
)
_CUTOFF = 0.8  # difflib ratio above which a name is offered as "did you mean"


@dataclass
class _Release:
    """The release's DAGs as the references see them; ``changed`` is empty in a full run."""

    repo: Path
    base_repo: Path | None
    dags_folder: str
    dags: dict[str, tuple[str, dict[str, Any]]]
    produced: set[str]
    orphans: list[str]  # produced, consumed by no DAG, not external
    producers: dict[str, tuple[str, str]]  # uri -> (dag_id, file), the first producer
    broken: dict[str, str]  # file -> the last line of its import error
    selected: set[str]
    changed: set[str]
    folded: dict[str, list[str]] = field(default_factory=dict)
    _mentions: dict[str, str] | None = None
    _constants: dict[str, str] | None = None

    def dag_line(self, rel: str, dag_id: str) -> int | None:
        call = call_for(dag_calls(self.repo / rel), dag_id)
        return call.line if call else None

    def any_more(self, rel: str, needle: str) -> str:
        """' any more' when the base version of ``rel`` names ``needle`` and this one does
        not (read from the trees, never assumed)."""
        if self.base_repo is None or not (self.base_repo / rel).is_file():
            return ""
        quoted = (f'"{needle}"', f"'{needle}'")
        before = (self.base_repo / rel).read_text(errors="replace")
        now = (self.repo / rel).read_text(errors="replace") if (self.repo / rel).is_file() else ""
        return (
            " any more"
            if any(q in before for q in quoted) and not any(q in now for q in quoted)
            else ""
        )

    def culprit(self, names: list[str]) -> str | None:
        """The first DAG file that does not import and names one of ``names`` (a quoted
        literal, or a Dataset constant of the DAGs folder bound to it)."""
        if not self.broken:
            return None
        if self._mentions is None:
            self._mentions = {}
            for rel in self.broken:
                path = self.repo / rel
                self._mentions[rel] = path.read_text(errors="replace") if path.is_file() else ""
        constants = self.dataset_constants()
        for rel, text in sorted(self._mentions.items()):
            for name in names:
                if f'"{name}"' in text or f"'{name}'" in text:
                    return rel
                if any(
                    uri == name and re.search(rf"\b{re.escape(c)}\b", text)
                    for c, uri in constants.items()
                ):
                    return rel
        return None

    def dataset_constants(self) -> dict[str, str]:
        """``NAME = Dataset("uri")`` of the DAGs folder's files: name -> URI (read once)."""
        if self._constants is None:
            self._constants = {}
            folder = self.repo / self.dags_folder
            for path in sorted(folder.rglob("*.py")) if folder.is_dir() else []:
                for match in _CONSTANT.finditer(path.read_text(errors="replace")):
                    self._constants.setdefault(match.group(1), match.group(2))
        return self._constants

    def fold(self, culprit: str, what: str) -> None:
        self.folded.setdefault(culprit, []).append(what)


def _release(ctx: ValidationContext, index: DagIndex) -> _Release:
    dags: dict[str, tuple[str, dict[str, Any]]] = {}
    for rel, parse in index.files.items():
        for dag_id, info in parse.dags.items():
            dags.setdefault(dag_id, (rel, info))
    producers: dict[str, tuple[str, str]] = {}
    for dag_id, (rel, info) in sorted(dags.items()):
        for uri in info["produces"]:
            producers.setdefault(uri, (dag_id, rel))
    external = set(ctx.config.validation.external_datasets)
    consumed = {u for _, info in dags.values() for u in condition_uris(dataset_condition(info))}
    broken = {
        rel: (p.error.strip().splitlines() or ["import failed"])[-1]
        for rel, p in index.files.items()
        if p.error
    }
    return _Release(
        repo=ctx.repo,
        base_repo=ctx.base_repo,
        dags_folder=ctx.config.airflow.dags_folder,
        dags=dags,
        produced=set(producers) | external,
        orphans=sorted(set(producers) - consumed - external),
        producers=producers,
        broken=broken,
        selected=set(ctx.selection.dag_files),
        changed=set() if ctx.selection.full else set(ctx.selection.changed_files),
    )


def _near(name: str, candidates: list[str]) -> str | None:
    found = difflib.get_close_matches(name, candidates, n=1, cutoff=_CUTOFF)
    return found[0] if found else None


def _schedule_findings(
    world: _Release, dag_id: str, rel: str, info: dict[str, Any]
) -> list[Finding]:
    condition = dataset_condition(info)
    if condition is None:
        return []
    missing = [u for u in condition_uris(condition) if u not in world.produced]
    if not missing:
        return []
    text = condition_text(condition)
    path = world.repo / rel
    line = line_of(path, *missing) or world.dag_line(rel, dag_id)
    culprit = world.culprit(missing)
    if culprit is not None:
        world.fold(culprit, f"dag:{dag_id} ({rel}) is scheduled on {text}")
        return []
    if satisfiable(condition, world.produced):
        return [
            Finding(
                message=f"dag:{dag_id} is scheduled on {text}; no DAG of the release produces "
                f"{', '.join(map(repr, missing))}, so that part of the schedule never fires "
                "(the DAG still runs on the rest)",
                file=rel,
                line=line,
                obj=f"dag:{dag_id}",
                severity="warning",
                fix="produce the Dataset, list it in validation.external_datasets, or drop it "
                "from the schedule",
            )
        ]
    timed = runs_on_time_too(info)
    outcome = (
        "its Dataset condition never fires (it runs on its timetable only)"
        if timed
        else "it would never run"
    )
    severity: Literal["error", "warning"] = "warning" if timed else "error"
    near = {m: n for m in missing if (n := _near(m, world.orphans)) is not None}
    out: list[Finding] = []
    for m, n in near.items():
        producer, prel = world.producers[n]
        if prel in world.changed and rel not in world.changed:
            # The producer's change broke the schedule: report it at the producer, first.
            out.append(
                Finding(
                    message=f"{prel} produces {n!r} (dag:{producer}), which no DAG consumes; "
                    f"{rel} (dag:{dag_id}) waits on {m!r}, which no DAG produces"
                    f"{world.any_more(prel, m)}: {outcome}. Did you mean {m!r}?",
                    file=prel,
                    line=line_of(world.repo / prel, n) or world.dag_line(prel, producer),
                    obj=f"dag:{producer}",
                    severity=severity,
                    fix=f"produce {m!r} in {prel} again, or schedule {rel} on {n!r}",
                )
            )
    if out:
        return out
    hints = "".join(
        f"; {world.producers[n][1]} (dag:{world.producers[n][0]}) produces {n!r}, which no DAG "
        f"consumes: did you mean {n!r}?"
        for n in near.values()
    )
    return [
        Finding(
            message=f"dag:{dag_id} is scheduled on {text}, which the Datasets produced in this "
            f"release cannot satisfy ({', '.join(map(repr, missing))} produced by no DAG): "
            f"{outcome}{hints}",
            file=rel,
            line=line,
            obj=f"dag:{dag_id}",
            severity=severity,
            fix="add the Dataset to a producing task's outlets, or list it in "
            "validation.external_datasets if it is updated from outside Airflow",
        )
    ]


def _ref_findings(world: _Release, dag_id: str, rel: str, ref: dict[str, Any]) -> list[Finding]:
    where = f"task:{dag_id}.{ref['task']}"
    line = line_of(world.repo / rel, ref["task"])
    verb = _VERB.get(ref["kind"], "refers to")
    target = world.dags.get(ref["dag_id"])
    if target is None:
        culprit = world.culprit([ref["dag_id"]])
        if culprit is not None:
            world.fold(culprit, f"{where} ({rel}) {verb} DAG {ref['dag_id']!r}")
            return []
        near = _near(ref["dag_id"], sorted(world.dags))
        nrel = world.dags[near][0] if near else None
        if near and nrel in world.changed and rel not in world.changed:
            return [
                Finding(
                    message=f"{nrel} defines DAG {near!r} and no DAG {ref['dag_id']!r}"
                    f"{world.any_more(nrel, ref['dag_id'])}; {where} in {rel} {verb} DAG "
                    f"{ref['dag_id']!r}. Did you mean {ref['dag_id']!r}?",
                    file=nrel,
                    line=world.dag_line(nrel, near),
                    obj=f"dag:{near}",
                    fix=f"restore dag_id {ref['dag_id']!r} in {nrel}, or point {where} at {near!r}",
                )
            ]
        hint = f"; {nrel} defines DAG {near!r}: did you mean {near!r}?" if near else ""
        return [
            Finding(
                message=f"{where} {verb} DAG {ref['dag_id']!r}, which no file of this release "
                f"defines{hint}",
                file=rel,
                line=line,
                obj=where,
                fix=f"point it at an existing dag_id or restore DAG {ref['dag_id']!r}",
            )
        ]
    trel, tinfo = target
    out: list[Finding] = []
    for task_id in ref["task_ids"]:
        if task_id in tinfo["tasks"]:
            continue
        near = _near(task_id, sorted(tinfo["tasks"]))
        if near and trel in world.changed and rel not in world.changed:
            out.append(
                Finding(
                    message=f"{trel} (dag:{ref['dag_id']}) has task {near!r} and no task "
                    f"{task_id!r}{world.any_more(trel, task_id)}; {where} in {rel} {verb} "
                    f"task {ref['dag_id']}.{task_id}. Did you mean {task_id!r}?",
                    file=trel,
                    line=line_of(world.repo / trel, near),
                    obj=f"task:{ref['dag_id']}.{near}",
                    fix=f"restore task_id {task_id!r} in {trel}, or point {where} at {near!r}",
                )
            )
            continue
        hint = f"; did you mean {near!r}?" if near else ""
        out.append(
            Finding(
                message=f"{where} {verb} task {ref['dag_id']}.{task_id}, which {trel} does not "
                f"define{hint}",
                file=rel,
                line=line,
                obj=where,
                fix=f"use one of {', '.join(sorted(tinfo['tasks']))} or restore the task in {trel}",
            )
        )
    return out


def _folded_findings(world: _Release) -> list[Finding]:
    out: list[Finding] = []
    for rel, knocked in sorted(world.folded.items()):
        reported = rel in world.selected  # dag_integrity reports its import error too
        out.append(
            Finding(
                message=f"does not import ({world.broken[rel]}) and names what "
                f"{len(knocked)} unresolved reference(s) point to: {'; '.join(knocked)}",
                file=rel,
                obj=f"file:{rel}",
                severity="warning" if reported else "error",
                fix=f"fix the import error of {rel}; these references resolve once it imports",
            )
        )
    return out


def dag_reference_findings(ctx: ValidationContext, index: DagIndex) -> list[Finding]:
    """Every broken cross-DAG reference of the release (see the module doc), sorted by the
    referring DAG; knock-ons of a DAG file that does not import come last, one per file."""
    world = _release(ctx, index)
    out: list[Finding] = []
    for dag_id, (rel, info) in sorted(world.dags.items()):
        for ref in info["refs"]:
            out += _ref_findings(world, dag_id, rel, ref)
        out += _schedule_findings(world, dag_id, rel, info)
    return out + _folded_findings(world)
