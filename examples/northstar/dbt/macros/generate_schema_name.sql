{#
    Custom schemas are used verbatim (`staging`, `marts`), not dbt's default
    `<target_schema>_<custom_schema>`, and every schema gets the `schema_suffix` var appended so
    a canary build (`--vars '{"schema_suffix": "__canary_v2"}'`) lands in `marts__canary_v2`
    without touching production relations. Sources are not affected: they keep reading `raw`.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set suffix = var('schema_suffix', '') or '' -%}
    {%- if suffix and not modules.re.fullmatch('__[a-z0-9][a-z0-9_]{0,47}', suffix) -%}
        {{ exceptions.raise_compiler_error("invalid schema_suffix '" ~ suffix ~ "': expected e.g. '__canary_v2'") }}
    {%- endif -%}
    {%- set base = target.schema if custom_schema_name is none else custom_schema_name | trim -%}
    {{ base ~ suffix }}
{%- endmacro %}
