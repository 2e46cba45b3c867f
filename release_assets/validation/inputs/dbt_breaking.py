"""Breaking changes to contracted dbt models, from two manifests (pure functions, no I/O).

For every model whose contract is enforced in the base: a removed column, a renamed column (one
removed and one added with the same type), a changed ``data_type``, a contract that is no longer
enforced, a changed grain (its unique keys) and a removed model break its consumers -- unless the
change comes with a new model version (dbt model versions), which consumers migrate to in their
own time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from release_assets.validation.inputs.sql_types import normalize_type

Kind = Literal[
    "column_removed",
    "column_renamed",
    "type_changed",
    "contract_removed",
    "grain_changed",
    "model_removed",
]
Grain = frozenset[frozenset[str]]
_LENGTH = re.compile(r"\b(?:var)?char(?:acter)?(?: varying)?\(")
_UNIQUE_COMBINATION = "unique_combination_of_columns"


@dataclass(frozen=True)
class BreakingChange:
    """One breaking change of model ``model``. ``column``/``new_column`` name the column(s);
    ``yml_path``/``sql_path`` are dbt-project-relative; ``excused_by`` names the new version
    that makes the change acceptable (None: the change breaks consumers)."""

    kind: Kind
    model: str
    unique_id: str
    detail: str
    column: str | None = None
    new_column: str | None = None
    yml_path: str | None = None
    sql_path: str | None = None
    excused_by: str | None = None

    @property
    def obj(self) -> str:
        return f"column:{self.model}.{self.column}" if self.column else f"model:{self.model}"


@dataclass(frozen=True)
class Consumers:
    """What reads a model: child models, every model downstream of it, exposures."""

    models: list[str] = field(default_factory=list)
    downstream: list[str] = field(default_factory=list)
    exposures: list[str] = field(default_factory=list)


def normalize_data_type(raw: str | None) -> str:
    """A data type for comparison: case and whitespace do not matter, nor do synonyms
    (``int``/``integer``, ``numeric(12,2)``/``decimal(12, 2)``); string lengths do."""
    text = " ".join(str(raw or "").lower().split())
    text = re.sub(r"\s*([(),])\s*", r"\1", text)
    if not _LENGTH.search(text):
        canonical = normalize_type(text)
        if canonical:
            return canonical.lower()
    return text


def is_contracted(node: dict[str, Any]) -> bool:
    contract = (node.get("config") or {}).get("contract") or node.get("contract") or {}
    return bool(contract.get("enforced"))


def _models(manifest: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") == "model":
            out.setdefault(str(node["name"]), []).append(node)
    return out


def _version_key(version: Any) -> tuple[int, float, str]:
    if version is None:
        return (0, 0.0, "")
    try:
        return (1, float(version), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(version))


def _newest(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    latest = nodes[0].get("latest_version")
    for node in nodes:
        if latest is not None and str(node.get("version")) == str(latest):
            return node
    return max(nodes, key=lambda n: _version_key(n.get("version")))


def _bump(base: list[dict[str, Any]], cand: list[dict[str, Any]]) -> str | None:
    """The new version of a model the candidate adds over the base, if any."""
    before = {str(n.get("version")) for n in base}
    top = max(_version_key(n.get("version")) for n in base)
    new = [n for n in cand if str(n.get("version")) not in before and n.get("version") is not None]
    newer = [n for n in new if _version_key(n.get("version")) > top]
    if newer:
        return f"v{max(newer, key=lambda n: _version_key(n.get('version')))['version']}"
    old_latest, new_latest = base[0].get("latest_version"), cand[0].get("latest_version")
    if new_latest is not None and _version_key(new_latest) > _version_key(old_latest):
        return f"latest_version {new_latest}"
    return None


def _columns(node: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        str(name).lower(): (str(col.get("name") or name), normalize_data_type(col.get("data_type")))
        for name, col in (node.get("columns") or {}).items()
    }


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value] if isinstance(value, list | tuple) else []


def grain(manifest: dict[str, Any], node: dict[str, Any]) -> Grain:
    """The model's unique keys: ``unique``/``primary_key`` constraints, ``unique`` (and
    ``unique_combination_of_columns``) data tests, and the ``unique_key`` config."""
    keys: set[frozenset[str]] = set()

    def add(columns: Iterable[str]) -> None:
        cols = frozenset(c.strip().strip('"').lower() for c in columns if c.strip())
        if cols:
            keys.add(cols)

    for name, col in (node.get("columns") or {}).items():
        for constraint in col.get("constraints") or []:
            if constraint.get("type") in ("unique", "primary_key"):
                add([str(name)])
    for constraint in node.get("constraints") or []:
        if constraint.get("type") in ("unique", "primary_key"):
            add(_as_list(constraint.get("columns")))
    add(_as_list((node.get("config") or {}).get("unique_key")))
    uid = node["unique_id"]
    for test in manifest.get("nodes", {}).values():
        if test.get("resource_type") != "test" or not test.get("test_metadata"):
            continue
        attached = (
            test.get("attached_node") or ((test.get("depends_on") or {}).get("nodes") or [""])[0]
        )
        if attached != uid:
            continue
        meta = test["test_metadata"]
        kwargs = meta.get("kwargs") or {}
        if meta.get("name") == "unique":
            add([str(test.get("column_name") or kwargs.get("column_name") or "")])
        elif meta.get("name") == _UNIQUE_COMBINATION:
            add(_as_list(kwargs.get("combination_of_columns")))
    return frozenset(keys)


def _describe(keys: Grain) -> str:
    if not keys:
        return "no unique key"
    return " and ".join("(" + ", ".join(sorted(k)) + ")" for k in sorted(keys, key=sorted))


def _yml(node: dict[str, Any]) -> str | None:
    patch = node.get("patch_path")
    return str(patch).split("://", 1)[-1] if patch else None


def _column_changes(
    base: dict[str, Any], cand: dict[str, Any], change: Callable[..., BreakingChange]
) -> tuple[list[BreakingChange], dict[str, str]]:
    """Removed, renamed and retyped columns; and the renames (old -> new, lower case)."""
    old, new = _columns(base), _columns(cand)
    added = [key for key in new if key not in old]
    out: list[BreakingChange] = []
    renames: dict[str, str] = {}
    for key, (name, dtype) in old.items():
        if key in new:
            if new[key][1] != dtype:
                out.append(
                    change(
                        "type_changed",
                        f"column {name} changed type from {dtype} to {new[key][1]}",
                        column=name,
                    )
                )
            continue
        twin = next((a for a in added if new[a][1] == dtype and a not in renames.values()), None)
        if twin is None:
            out.append(
                change("column_removed", f"column {name} ({dtype}) was removed", column=name)
            )
            continue
        renames[key] = twin
        out.append(
            change(
                "column_renamed",
                f"column {name} was renamed to {new[twin][0]} ({dtype})",
                column=name,
                new_column=new[twin][0],
            )
        )
    return out, renames


def _compare_model(
    base_m: dict[str, Any], cand_m: dict[str, Any], node: dict[str, Any], target: dict[str, Any]
) -> list[BreakingChange]:
    def change(kind: Kind, detail: str, **kw: Any) -> BreakingChange:
        return BreakingChange(
            kind=kind,
            model=str(node["name"]),
            unique_id=str(target["unique_id"]),
            detail=detail,
            yml_path=_yml(target) or _yml(node),
            sql_path=target.get("original_file_path"),
            **kw,
        )

    if not is_contracted(target):
        return [change("contract_removed", "its contract is no longer enforced")]
    out, renames = _column_changes(node, target, change)
    before = grain(base_m, node)
    if before:
        mapped = frozenset(frozenset(renames.get(c, c) for c in key) for key in before)
        after = grain(cand_m, target)
        if mapped != after:
            out.append(
                change(
                    "grain_changed",
                    f"its grain changed from {_describe(before)} to {_describe(after)}",
                )
            )
    return out


def breaking_changes(base: dict[str, Any], candidate: dict[str, Any]) -> list[BreakingChange]:
    """Every breaking change of the base's contracted models in the candidate; changes that
    come with a new model version carry ``excused_by``."""
    base_models, cand_models = _models(base), _models(candidate)
    out: list[BreakingChange] = []
    for name, nodes in sorted(base_models.items()):
        cands = cand_models.get(name, [])
        bump = _bump(nodes, cands) if cands else None
        for node in sorted(nodes, key=lambda n: _version_key(n.get("version"))):
            if not is_contracted(node):
                continue
            version = node.get("version")
            same = [n for n in cands if str(n.get("version")) == str(version)]
            target = same[0] if same else (_newest(cands) if cands and version is None else None)
            if target is None:
                what = f"version {version}" if version is not None else "the model"
                changes = [
                    BreakingChange(
                        kind="model_removed",
                        model=name,
                        unique_id=str(node["unique_id"]),
                        detail=f"{what} was removed",
                        yml_path=_yml(node),
                        sql_path=node.get("original_file_path"),
                    )
                ]
            else:
                changes = _compare_model(base, candidate, node, target)
            out += [
                BreakingChange(**{**c.__dict__, "excused_by": bump}) if bump else c for c in changes
            ]
    return out


def consumers(manifest: dict[str, Any], unique_id: str) -> Consumers:
    """The models reading ``unique_id`` directly, every model downstream of it, and the
    exposures on any of them (from the manifest's ``child_map``, else ``depends_on``)."""
    children: dict[str, list[str]] = manifest.get("child_map") or {}
    if not children:
        for uid, node in [
            *manifest.get("nodes", {}).items(),
            *manifest.get("exposures", {}).items(),
        ]:
            for parent in (node.get("depends_on") or {}).get("nodes") or []:
                children.setdefault(parent, []).append(uid)

    def name(uid: str) -> str:
        node = manifest.get("nodes", {}).get(uid) or manifest.get("exposures", {}).get(uid) or {}
        return str(node.get("name") or uid.split(".")[-1])

    direct = sorted({name(c) for c in children.get(unique_id, []) if c.startswith("model.")})
    seen: set[str] = set()
    todo = [unique_id]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in seen and child.startswith(("model.", "exposure.")):
                seen.add(child)
                todo.append(child)
    return Consumers(
        models=direct,
        downstream=sorted({name(c) for c in seen if c.startswith("model.")}),
        exposures=sorted({name(c) for c in seen if c.startswith("exposure.")}),
    )
