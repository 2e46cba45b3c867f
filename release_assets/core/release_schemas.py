"""Per-release schemas: canary runs build a release's models into ``<schema>__r_<release>``, and
prod points the stable names at them (a pointer switch, never a rebuild)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from release_assets.core.bundle import DBT_MANIFEST

if TYPE_CHECKING:
    from release_assets.runtimes.artifacts.base import ArtifactStore


def release_suffix(release_id: str) -> str:
    """``v2.1-rc`` -> ``__r_v2_1_rc`` (a schema-name-safe suffix)."""
    return "__r_" + re.sub(r"[^a-z0-9_]", "_", release_id.lower())


def _manifest(store: ArtifactStore, release_id: str) -> dict[str, Any]:
    """The release's normalized dbt manifest; ``{}`` without a dbt project."""
    try:
        return dict(json.loads(store.read_file(release_id, DBT_MANIFEST)))
    except FileNotFoundError:
        return {}


def dbt_relations(store: ArtifactStore, release_id: str) -> list[str]:
    """``schema.name`` of every model of the release's dbt project (from its manifest)."""
    manifest = _manifest(store, release_id)
    if not manifest:
        return []
    relations = {
        f"{node['schema']}.{node.get('alias') or node['name']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }
    return sorted(relations)


def source_relations(store: ArtifactStore, release_id: str) -> list[str]:
    """``schema.name`` of every dbt source of the release (its manifest's ``sources``): the
    warehouse tables a canary and its baseline both read. Empty without a dbt project."""
    sources = _manifest(store, release_id).get("sources", {})
    return sorted({f"{n['schema']}.{n.get('identifier') or n['name']}" for n in sources.values()})


def release_sources(relations: list[str], release_id: str) -> dict[str, str]:
    """Stable name -> the release's relation behind it."""
    suffix = release_suffix(release_id)
    out = {}
    for relation in relations:
        schema, name = relation.split(".", 1)
        out[relation] = f"{schema}{suffix}.{name}"
    return out
