{#- Schemas are named exactly as configured (`staging`, `analytics`, `monitoring`): the
    design contract names `analytics`, and dbt's default would prefix the target schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
