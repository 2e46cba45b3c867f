{#
    Custom schemas are used verbatim (`staging`, `marts`), not dbt's default
    `<target_schema>_<custom_schema>`, with a suffix appended:
    - `schema_suffix` (a canary's or a rebuild's, from the run conf): every model and snapshot,
      so a canary build (`--vars '{"schema_suffix": "__r_v2"}'`) lands in `marts__r_v2` without
      touching the live relations;
    - else `release_suffix` (set where the stable names are release pointers: prod runs build
      into the live release's schemas, `marts__r_<release>`): models only. Snapshots keep their
      shared, unsuffixed schema: their history spans releases. (Configure a snapshot's schema
      with `schema`, not the legacy `target_schema`, which does not go through this macro.)
    Sources are not affected here: they read `raw` plus the `source_suffix` var (the canary's
    input snapshot, see models/staging/_sources.yml), which is validated here too, since every
    build renders this macro.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set suffix = var('schema_suffix', '') or '' -%}
    {%- set release_suffix = var('release_suffix', '') or '' -%}
    {%- for name, value in [('schema_suffix', suffix), ('release_suffix', release_suffix), ('source_suffix', var('source_suffix', '') or '')] -%}
        {%- if value and not modules.re.fullmatch('__[a-z0-9][a-z0-9_]{0,47}', value) -%}
            {{ exceptions.raise_compiler_error("invalid " ~ name ~ " '" ~ value ~ "': expected e.g. '__canary_v2'") }}
        {%- endif -%}
    {%- endfor -%}
    {%- set base = target.schema if custom_schema_name is none else custom_schema_name | trim -%}
    {%- if node is not none and node.resource_type == 'snapshot' -%}
        {{ base ~ suffix }}
    {%- else -%}
        {{ base ~ (suffix or release_suffix) }}
    {%- endif -%}
{%- endmacro %}
