{#- The documented fields of every resource (the vendor contract), typed. Staging selects
    exactly these, so columns the loader adds for new vendor fields never break a model;
    the drift report lists raw fields that are not here. -#}
{% macro resource_columns(resource) -%}
    {%- set ts = 'timestamp' -%}
    {%- set common_tail = [('created_at', ts), ('updated_at', ts)] -%}
    {%- set cols = {
        'customers': [('id', 'varchar'), ('email', 'varchar'), ('name', 'varchar'),
            ('phone', 'varchar'), ('address', 'json'), ('currency', 'varchar'),
            ('balance', 'bigint'), ('tax_exempt', 'varchar'), ('metadata', 'json')],
        'plans': [('id', 'varchar'), ('product_name', 'varchar'), ('nickname', 'varchar'),
            ('amount', 'bigint'), ('currency', 'varchar'), ('interval', 'varchar'),
            ('interval_count', 'bigint'), ('active', 'boolean'),
            ('trial_period_days', 'bigint')],
        'subscriptions': [('id', 'varchar'), ('customer_id', 'varchar'),
            ('plan_id', 'varchar'), ('status', 'varchar'), ('quantity', 'bigint'),
            ('current_period_start', ts), ('current_period_end', ts),
            ('cancel_at_period_end', 'boolean'), ('canceled_at', ts), ('trial_end', ts),
            ('items', 'json'), ('discount', 'json'), ('metadata', 'json')],
        'invoices': [('id', 'varchar'), ('customer_id', 'varchar'),
            ('subscription_id', 'varchar'), ('number', 'varchar'), ('status', 'varchar'),
            ('currency', 'varchar'), ('subtotal', 'bigint'), ('tax', 'bigint'),
            ('total', 'bigint'), ('amount_due', 'bigint'), ('amount_paid', 'bigint'),
            ('period_start', ts), ('period_end', ts), ('due_date', ts), ('paid_at', ts)],
        'invoice_items': [('id', 'varchar'), ('invoice_id', 'varchar'),
            ('subscription_id', 'varchar'), ('plan_id', 'varchar'),
            ('description', 'varchar'), ('quantity', 'bigint'), ('unit_amount', 'bigint'),
            ('amount', 'bigint'), ('currency', 'varchar'), ('period', 'json'),
            ('proration', 'boolean')],
        'payments': [('id', 'varchar'), ('invoice_id', 'varchar'),
            ('customer_id', 'varchar'), ('transaction_id', 'varchar'), ('amount', 'bigint'),
            ('currency', 'varchar'), ('status', 'varchar'), ('method', 'json'),
            ('failure_code', 'varchar'), ('amount_refunded', 'bigint'),
            ('captured_at', ts)],
        'refunds': [('id', 'varchar'), ('payment_id', 'varchar'),
            ('transaction_id', 'varchar'), ('amount', 'bigint'), ('currency', 'varchar'),
            ('reason', 'varchar'), ('status', 'varchar')],
        'events': [('event_id', 'varchar'), ('transaction_id', 'varchar'),
            ('event_type', 'varchar'), ('event_version', 'bigint'), ('occurred_at', ts),
            ('payload', 'json')],
    } -%}
    {{ return(cols[resource] + common_tail) }}
{%- endmacro %}

{% macro resource_id(resource) -%}
    {{ return('event_id' if resource == 'events' else 'id') }}
{%- endmacro %}

{#- The resources the vendor can hard-delete (no tombstones: reconciliation and webhook
    notices find the deletes). -#}
{% macro deletable_resources() -%}
    {{ return(['customers', 'plans', 'invoice_items']) }}
{%- endmacro %}

{% macro resource_names() -%}
    {{ return(['customers', 'plans', 'subscriptions', 'invoices', 'invoice_items',
               'payments', 'refunds', 'events']) }}
{%- endmacro %}

{#- Lineage columns the tap adds to every version (design.md, "Tap output"). -#}
{% macro lineage_columns() -%}
    {{ return([('_pa_version', 'varchar'), ('_pa_run_id', 'varchar'),
               ('_pa_request_id', 'varchar'), ('_pa_extracted_at', 'timestamp'),
               ('_pa_cursor', 'varchar'), ('_pa_window_start', 'timestamp'),
               ('_pa_window_end', 'timestamp')]) }}
{%- endmacro %}

{#- Quoted so contract names that are keywords (`interval`, `number`) work everywhere;
    Snowflake stores unquoted names upper-case, so quote them upper-case there. -#}
{% macro qcol(column) -%}
    {{ return(adapter.dispatch('qcol', 'partnerapi')(column)) }}
{%- endmacro %}

{% macro default__qcol(column) -%}"{{ column }}"{%- endmacro %}

{% macro snowflake__qcol(column) -%}"{{ column | upper }}"{%- endmacro %}

{% macro typed(column, type) -%}
    {%- if type == 'json' -%}{{ json_normalized(qcol(column)) }}
    {%- else -%}cast({{ qcol(column) }} as {{ type }})
    {%- endif %} as {{ qcol(column) }}
{%- endmacro %}

{#- The same contract field typed out of a version's JSON (`_pa_raw` of a pushed version),
    so that it equals `typed()` of the loader's column for the same version. -#}
{% macro typed_from_json(json_column, column, type) -%}
    {%- if type == 'json' -%}{{ json_obj(json_column, column) }}
    {%- elif type == 'varchar' -%}{{ json_str(json_column, column) }}
    {%- else -%}cast({{ json_str(json_column, column) }} as {{ type }})
    {%- endif %} as {{ qcol(column) }}
{%- endmacro %}
