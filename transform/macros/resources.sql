{#- Resource facts for the models, all from the generated contract (macros/contract.sql,
    from tap_partnerapi/contract.py) plus the fields the vendor added since (fields.sql). -#}

{#- Every column a resource's staging versions carry: the documented fields, then the
    top-level fields the vendor added (in order of first appearance), as (name, type). -#}
{% macro resource_columns(resource, added=none) -%}
    {%- set columns = [] -%}
    {%- for name, type, pii in contract_fields(resource) -%}
        {%- do columns.append((name, type)) -%}
    {%- endfor -%}
    {%- for name, type in (added_fields(resource) if added is none else added) -%}
        {%- do columns.append((name, type)) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{% macro resource_id(resource) -%}
    {{ return(contract_id(resource)) }}
{%- endmacro %}

{#- The resources the vendor can hard-delete (no tombstones: reconciliation and webhook
    notices find the deletes). -#}
{% macro deletable_resources() -%}
    {{ return(contract_deletable()) }}
{%- endmacro %}

{% macro resource_names() -%}
    {{ return(contract_resources()) }}
{%- endmacro %}

{#- Lineage columns of every version (design.md, "Tap output"). The page's cursor and
    window are in the coverage_ledger row that `_pa_request_id` names; `_pa_loaded_at` is
    when the row reached raw (the loader's `_sdc_batched_at`): incremental models slice on
    it (incremental.sql). -#}
{% macro lineage_columns() -%}
    {{ return([('_pa_version', 'varchar'), ('_pa_run_id', 'varchar'),
               ('_pa_request_id', 'varchar'), ('_pa_extracted_at', 'timestamp'),
               ('_pa_loaded_at', 'timestamp')]) }}
{%- endmacro %}

{#- Quoted so contract names that are keywords (`interval`, `number`) work everywhere;
    Snowflake stores unquoted names upper-case, so quote them upper-case there. -#}
{% macro qcol(column) -%}
    {{ return(adapter.dispatch('qcol', 'partnerapi')(column)) }}
{%- endmacro %}

{% macro default__qcol(column) -%}"{{ column }}"{%- endmacro %}

{% macro snowflake__qcol(column) -%}"{{ column | upper }}"{%- endmacro %}

{#- A field typed out of a version's JSON (`_pa_raw`), the same way for polled and pushed
    versions. JSON `null` and an absent field are both SQL NULL. -#}
{% macro typed_from_json(json_column, column, type) -%}
    {%- if type == 'json' -%}{{ json_obj(json_column, column) }}
    {%- elif type == 'varchar' -%}{{ json_str(json_column, column) }}
    {%- else -%}cast({{ json_str(json_column, column) }} as {{ type }})
    {%- endif %} as {{ qcol(column) }}
{%- endmacro %}
