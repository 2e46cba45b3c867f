"""The dbt project: staging, intermediate and mart models, their YAML and a generic test."""

from __future__ import annotations

from .model import NORTHSTAR, PROJECT, STATUSES, Plan, Table
from .text import dump_yaml, fill, unique


def plan_models(
    tables: list[Table], models: int
) -> tuple[list[str], list[tuple[str, list[int]]], list[tuple[str, int, str]]]:
    staging_n = max(1, round(models * 0.4))
    marts_n = max(1, round(models * 0.3))
    int_n = models - staging_n - marts_n
    if int_n < 1:
        raise ValueError(f"models={models} is too few (use at least 3)")
    staging = [t.staging for t in tables]
    intermediate: list[tuple[str, list[int]]] = []
    for k in range(int_n):
        reads = [j for j in range(staging_n) if j % int_n == k]
        t = tables[reads[0]]
        intermediate.append((f"int_{t.domain.name}_{t.name}_daily", reads))
    marts: list[tuple[str, int, str]] = []
    used: set[str] = set()
    for k in range(marts_n):
        int_index, flavor = (k // 2) % int_n, ("fct", "dim")[k % 2]
        t = tables[intermediate[int_index][1][0]]
        base = f"fct_{t.name}_daily" if flavor == "fct" else f"dim_{t.name}_accounts"
        marts.append((unique(base, used), int_index, flavor))
    return staging, intermediate, marts


_STG_SQL = """with source as (

    select * from {{ source('<<domain>>', '<<table>>') }}

),

latest_extract as (

    -- A row re-extracted on a later day (status change): keep the newest.
    select *
    from source
    qualify row_number() over (
        partition by <<key>>
        order by _load_date desc, _loaded_at desc
    ) = 1

)

select
    <<key>>,
    account_id,
    quantity,
    amount,
    event_ts,
    country_code,
    _release_id as loaded_by_release,
    cast(event_ts as date) as event_date,
    lower(category) as category,
    lower(status) as status
from latest_extract
"""

_INT_PART = """    select
        account_id,
        event_date,
        quantity,
        amount
    from {{ ref('<<model>>') }}
    where status != 'cancelled'
"""

_INT_SQL = """-- Activity per account and day (cancelled events excluded).
with events as (

<<parts>>
)

select
    account_id,
    event_date,
    cast(count(*) as integer) as event_count,
    cast(sum(quantity) as integer) as units,
    cast(sum(amount) as decimal(14, 2)) as total_amount
from events
group by account_id, event_date
"""

_FCT_SQL = """-- Daily totals over all accounts.
select
    event_date,
    cast(count(distinct account_id) as integer) as active_accounts,
    cast(sum(event_count) as integer) as events,
    cast(sum(units) as integer) as units,
    cast(sum(total_amount) as decimal(16, 2)) as total_amount
from {{ ref('<<model>>') }}
group by event_date
"""

_DIM_SQL = """-- Lifetime activity per account.
select
    account_id,
    cast(sum(event_count) as integer) as lifetime_events,
    cast(sum(total_amount) as decimal(16, 2)) as lifetime_amount,
    min(event_date) as first_event_date,
    max(event_date) as last_event_date
from {{ ref('<<model>>') }}
group by account_id
"""

_GENERIC_TEST = """{#- Fails for every combination of the columns that appears twice. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
{%- set columns = combination_of_columns | join(', ') %}
select
    {{ columns }},
    count(*) as n_records
from {{ model }}
group by {{ columns }}
having count(*) > 1
{% endtest %}
"""


def dbt_files(plan: Plan) -> dict[str, str]:
    files: dict[str, str] = {}
    project = (NORTHSTAR / "dbt" / "dbt_project.yml").read_text()
    project = project.replace("northstar", PROJECT).replace("NORTHSTAR", PROJECT.upper())
    files["dbt/dbt_project.yml"] = project
    profiles = (NORTHSTAR / "dbt" / "profiles.yml").read_text()
    files["dbt/profiles.yml"] = profiles.replace("northstar", PROJECT).replace(
        "NORTHSTAR", PROJECT.upper()
    )
    files["dbt/macros/generate_schema_name.sql"] = (
        NORTHSTAR / "dbt" / "macros" / "generate_schema_name.sql"
    ).read_text()
    files["dbt/tests/generic/unique_combination_of_columns.sql"] = _GENERIC_TEST
    sources: dict[str, list[dict[str, object]]] = {}
    staging_yml = []
    for t in plan.tables:
        sources.setdefault(t.domain.name, []).append(
            {
                "name": t.name,
                "description": f"One row per {t.key} and extract date ({t.location}).",
                "columns": [
                    {"name": t.key, "data_tests": ["not_null"]},
                    {"name": "_load_date", "data_tests": ["not_null"]},
                ],
            }
        )
        files[f"dbt/models/staging/{t.staging}.sql"] = fill(
            _STG_SQL, domain=t.domain.name, table=t.name, key=t.key
        )
        staging_yml.append(
            {
                "name": t.staging,
                "description": f"raw {t.name}, latest extract per {t.key}.",
                "columns": [
                    {"name": t.key, "data_tests": ["unique", "not_null"]},
                    {"name": "account_id", "data_tests": ["not_null"]},
                    {
                        "name": "status",
                        "data_tests": [
                            {"accepted_values": {"arguments": {"values": list(STATUSES)}}}
                        ],
                    },
                ],
            }
        )
    freshness = {
        "loaded_at_field": "_loaded_at",
        "freshness": {
            "warn_after": {"count": 26, "period": "hour"},
            "error_after": {"count": 50, "period": "hour"},
        },
    }
    source_list = [
        {
            "name": domain,
            "description": f"Extracts of the {domain} systems, loaded by the ingest DAGs.",
            "schema": "raw",
            "config": freshness,
            "tables": tables,
        }
        for domain, tables in sources.items()
    ]
    files["dbt/models/staging/_sources.yml"] = dump_yaml({"version": 2, "sources": source_list})
    files["dbt/models/staging/_staging.yml"] = dump_yaml({"version": 2, "models": staging_yml})
    int_yml = []
    for name, reads in plan.intermediate:
        parts = "\n    union all\n\n".join(
            fill(_INT_PART, model=plan.tables[j].staging) for j in reads
        )
        files[f"dbt/models/intermediate/{name}.sql"] = fill(_INT_SQL, parts=parts)
        int_yml.append(
            {
                "name": name,
                "description": "Activity per account and day: "
                + ", ".join(plan.tables[j].staging for j in reads)
                + ".",
                "data_tests": [
                    {
                        "unique_combination_of_columns": {
                            "arguments": {"combination_of_columns": ["account_id", "event_date"]}
                        }
                    }
                ],
                "columns": [
                    {"name": "account_id", "data_tests": ["not_null"]},
                    {"name": "event_date", "data_tests": ["not_null"]},
                ],
            }
        )
    files["dbt/models/intermediate/_intermediate.yml"] = dump_yaml(
        {"version": 2, "models": int_yml}
    )
    marts_yml = []
    for name, int_index, flavor in plan.marts:
        int_name, reads = plan.intermediate[int_index]
        team = plan.tables[reads[0]].domain.name
        template = _FCT_SQL if flavor == "fct" else _DIM_SQL
        files[f"dbt/models/marts/{name}.sql"] = fill(template, model=int_name)
        marts_yml.append(_mart_yml(name, flavor, team))
    files["dbt/models/marts/_marts.yml"] = dump_yaml({"version": 2, "models": marts_yml})
    return files


def _mart_yml(name: str, flavor: str, team: str) -> dict[str, object]:
    if flavor == "fct":
        return {
            "name": name,
            "description": "Daily totals over all accounts.",
            "config": {"contract": {"enforced": True}, "meta": {"owner": team}},
            "columns": [
                {
                    "name": "event_date",
                    "data_type": "date",
                    "constraints": [{"type": "not_null"}],
                    "data_tests": ["unique", "not_null"],
                },
                {"name": "active_accounts", "data_type": "integer"},
                {"name": "events", "data_type": "integer", "data_tests": ["not_null"]},
                {"name": "units", "data_type": "integer"},
                {"name": "total_amount", "data_type": "decimal(16,2)"},
            ],
        }
    return {
        "name": name,
        "description": "Lifetime activity per account.",
        "config": {"meta": {"owner": team}},
        "columns": [
            {"name": "account_id", "data_tests": ["unique", "not_null"]},
            {"name": "lifetime_events", "data_tests": ["not_null"]},
            {"name": "lifetime_amount"},
            {"name": "first_event_date"},
            {"name": "last_event_date"},
        ],
    }
