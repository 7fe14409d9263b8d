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

{#- A typed value as text (for hashing a field of any type). -#}
{% macro as_text(expr, type) -%}
    {{ return(adapter.dispatch('as_text', 'partnerapi')(expr, type)) }}
{%- endmacro %}

{% macro default__as_text(expr, type) -%}
    cast({{ expr }} as varchar)
{%- endmacro %}

{% macro snowflake__as_text(expr, type) -%}
    {%- if type == 'json' -%}to_json({{ expr }}){%- else -%}cast({{ expr }} as varchar){%- endif -%}
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

{#- A raw JSON column as the warehouse's JSON type, minified on DuckDB (json_normalized). -#}
{% macro as_json(column) -%}
    {{ return(adapter.dispatch('as_json', 'partnerapi')(column)) }}
{%- endmacro %}

{% macro default__as_json(column) -%}
    json(cast({{ column }} as json))
{%- endmacro %}

{% macro snowflake__as_json(column) -%}
    {{ column }}
{%- endmacro %}

{#- The warehouse's JSON column type (for typing an empty stand-in relation). -#}
{% macro json_type_name() -%}
    {{ return(adapter.dispatch('json_type_name', 'partnerapi')()) }}
{%- endmacro %}

{% macro default__json_type_name() -%}json{%- endmacro %}

{% macro snowflake__json_type_name() -%}variant{%- endmacro %}
