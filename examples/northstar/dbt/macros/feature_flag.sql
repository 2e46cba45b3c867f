{#- Whether feature flag `name` is on for this run: the var `feature_flags` (name -> true/false)
    that the dbt_build DAG passes with --vars from the environment's flag store
    (northstar_common.flags). A flag that is absent, or anything but true, is off (as is every
    flag when the var is not a mapping: sqlfluff's templater, for one). -#}
{% macro feature_flag(name) -%}
    {%- set flags = var('feature_flags', {}) -%}
    {{ return(flags is mapping and flags.get(name) is sameas true) }}
{%- endmacro %}
