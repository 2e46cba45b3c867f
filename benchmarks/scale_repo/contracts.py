"""The data contracts: one YAML file per source table."""

from __future__ import annotations

from .model import MAIL, Table


def render_contract(t: Table) -> str:
    columns = [
        (t.key, "bigint", False),
        ("account_id", "bigint", False),
        ("category", "varchar", False),
        ("status", "varchar", False),
        ("amount", '"decimal(12,2)"', False),
        ("quantity", "integer", False),
        ("country_code", "varchar", True),
        ("event_ts", "timestamp", False),
        ("_load_date", "date", False),
        ("_release_id", "varchar", False),
        ("_loaded_at", "timestamp", False),
    ]
    lines = [
        f"contract: {t.name}",
        "version: 1",
        f"owner: {t.domain.team}@{MAIL}",
        f"description: {t.name.replace('_', ' ').capitalize()} from the {t.domain.name} "
        f"{t.domain.system} source, one row per {t.key} and extract date.",
        "source:",
        f"  system: {t.domain.system}",
        f"  location: {t.location}",
        f"table: raw.{t.name}",
        f"primary_key: [{t.key}]",
        "columns:",
        *(
            f"  - {{name: {n}, type: {ty}, nullable: {str(null).lower()}}}"
            for n, ty, null in columns
        ),
    ]
    return "\n".join(lines) + "\n"
