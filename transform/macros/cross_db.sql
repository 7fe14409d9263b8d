{#- Dialect differences between DuckDB (JSON columns) and Snowflake (VARIANT columns).
    Paths are dotted (`dispute.status`). -#}

{% macro json_str(column, path) -%}
    {{ return(adapter.dispatch('json_str', 'partnerapi')(column, path)) }}
{%- endmacro %}

{% macro default__json_str(column, path) -%}
    json_extract_string({{ column }}, '$.{{ path }}')
{%- endmacro %}

{% macro snowflake__json_str(column, path) -%}
    get_path({{ column }}, '{{ path }}')::varchar
{%- endmacro %}

{#- sha256 hex of a string; null stays null so "no email" is not a hash collision. -#}
{% macro sha256_hex(expr) -%}
    {{ return(adapter.dispatch('sha256_hex', 'partnerapi')(expr)) }}
{%- endmacro %}

{% macro default__sha256_hex(expr) -%}
    sha256({{ expr }})
{%- endmacro %}

{% macro snowflake__sha256_hex(expr) -%}
    sha2({{ expr }}, 256)
{%- endmacro %}

{#- One row per (row, top-level key of a JSON object column). -#}
{% macro json_top_level_keys(relation, json_column, carry_columns) -%}
    {{ return(adapter.dispatch('json_top_level_keys', 'partnerapi')(relation, json_column, carry_columns)) }}
{%- endmacro %}

{% macro default__json_top_level_keys(relation, json_column, carry_columns) -%}
    select {% for c in carry_columns %}{{ c }}, {% endfor %}
           unnest(json_keys({{ json_column }})) as field_name
    from {{ relation }}
    where {{ json_column }} is not null
{%- endmacro %}

{% macro snowflake__json_top_level_keys(relation, json_column, carry_columns) -%}
    select {% for c in carry_columns %}r.{{ c }}, {% endfor %}
           f.key::varchar as field_name
    from {{ relation }} as r,
         lateral flatten(input => r.{{ json_column }}) as f
    where r.{{ json_column }} is not null
{%- endmacro %}

{#- A nested object or array of a JSON column as JSON (VARIANT), with JSON `null` made SQL
    NULL: the loader writes a null field as SQL NULL, and the two copies of one version
    (polled column, pushed `_pa_raw`) must give the same value. -#}
{% macro json_obj(column, path) -%}
    {{ return(adapter.dispatch('json_obj', 'partnerapi')(column, path)) }}
{%- endmacro %}

{% macro default__json_obj(column, path) -%}
    case when json_type({{ column }}, '$.{{ path }}') = 'NULL' then null
         else json_extract({{ column }}, '$.{{ path }}') end
{%- endmacro %}

{% macro snowflake__json_obj(column, path) -%}
    strip_null_value(get_path({{ column }}, '{{ path }}'))
{%- endmacro %}

{#- One text form for a JSON value. DuckDB's JSON is text: the loader keeps Python's
    `json.dumps` spacing while json_extract minifies, so both are minified here. Snowflake
    compares VARIANTs by value already. -#}
{% macro json_normalized(expr) -%}
    {{ return(adapter.dispatch('json_normalized', 'partnerapi')(expr)) }}
{%- endmacro %}

{% macro default__json_normalized(expr) -%}
    json({{ expr }})
{%- endmacro %}

{% macro snowflake__json_normalized(expr) -%}
    {{ expr }}
{%- endmacro %}

{#- The warehouse's JSON column type (for typing an empty stand-in relation). -#}
{% macro json_type_name() -%}
    {{ return(adapter.dispatch('json_type_name', 'partnerapi')()) }}
{%- endmacro %}

{% macro default__json_type_name() -%}json{%- endmacro %}

{% macro snowflake__json_type_name() -%}variant{%- endmacro %}
