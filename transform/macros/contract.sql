{#- GENERATED from tap_partnerapi/contract.py by `python -m tap_partnerapi.contract dbt`: do not edit
    by hand (tests/pipeline/test_contract.py fails when it and the generator disagree).
    The vendor contract for dbt: resources, id fields, deletability, documented
    fields with their warehouse type (varchar, bigint, double, boolean, timestamp,
    json) and PII class (clear, hashed, dropped). -#}

{#- The vendor's resources, in contract order. -#}
{% macro contract_resources() -%}
    {{ return(['customers', 'plans', 'subscriptions', 'invoices', 'invoice_items', 'payments', 'refunds', 'events']) }}
{%- endmacro %}

{#- The id field of a resource (`id`, `event_id`). -#}
{% macro contract_id(resource) -%}
    {%- set by = {
        'customers': 'id',
        'plans': 'id',
        'subscriptions': 'id',
        'invoices': 'id',
        'invoice_items': 'id',
        'payments': 'id',
        'refunds': 'id',
        'events': 'event_id',
    } -%}
    {{ return(by[resource]) }}
{%- endmacro %}

{#- The resources the vendor can hard-delete. -#}
{% macro contract_deletable() -%}
    {{ return(['customers', 'plans', 'invoice_items']) }}
{%- endmacro %}

{#- Documented top-level fields: (name, warehouse type, PII class). -#}
{% macro contract_fields(resource) -%}
    {%- set by = {
        'customers': [
            ('id', 'varchar', 'clear'),
            ('email', 'varchar', 'hashed'),
            ('name', 'varchar', 'hashed'),
            ('phone', 'varchar', 'hashed'),
            ('address', 'json', 'hashed'),
            ('currency', 'varchar', 'clear'),
            ('balance', 'bigint', 'clear'),
            ('tax_exempt', 'varchar', 'clear'),
            ('metadata', 'json', 'clear'),
            ('created_at', 'timestamp', 'clear'),
            ('updated_at', 'timestamp', 'clear'),
        ],
        'plans': [
            ('id', 'varchar', 'clear'),
            ('product_name', 'varchar', 'clear'),
            ('nickname', 'varchar', 'clear'),
            ('amount', 'bigint', 'clear'),
            ('currency', 'varchar', 'clear'),
            ('interval', 'varchar', 'clear'),
            ('interval_count', 'bigint', 'clear'),
            ('active', 'boolean', 'clear'),
            ('trial_period_days', 'bigint', 'clear'),
            ('created_at', 'timestamp', 'clear'),
            ('updated_at', 'timestamp', 'clear'),
        ],
        'subscriptions': [
            ('id', 'varchar', 'clear'),
            ('customer_id', 'varchar', 'clear'),
            ('plan_id', 'varchar', 'clear'),
            ('status', 'varchar', 'clear'),
            ('quantity', 'bigint', 'clear'),
            ('current_period_start', 'timestamp', 'clear'),
            ('current_period_end', 'timestamp', 'clear'),
            ('cancel_at_period_end', 'boolean', 'clear'),
            ('canceled_at', 'timestamp', 'clear'),
            ('trial_end', 'timestamp', 'clear'),
            ('items', 'json', 'clear'),
            ('discount', 'json', 'clear'),
            ('metadata', 'json', 'clear'),
            ('created_at', 'timestamp', 'clear'),
            ('updated_at', 'timestamp', 'clear'),
        ],
        'invoices': [
            ('id', 'varchar', 'clear'),
            ('customer_id', 'varchar', 'clear'),
            ('subscription_id', 'varchar', 'clear'),
            ('number', 'varchar', 'clear'),
            ('status', 'varchar', 'clear'),
            ('currency', 'varchar', 'clear'),
            ('subtotal', 'bigint', 'clear'),
            ('tax', 'bigint', 'clear'),
            ('total', 'bigint', 'clear'),
            ('amount_due', 'bigint', 'clear'),
            ('amount_paid', 'bigint', 'clear'),
            ('period_start', 'timestamp', 'clear'),
            ('period_end', 'timestamp', 'clear'),
            ('due_date', 'timestamp', 'clear'),
            ('paid_at', 'timestamp', 'clear'),
            ('created_at', 'timestamp', 'clear'),
            ('updated_at', 'timestamp', 'clear'),
        ],
        'invoice_items': [
            ('id', 'varchar', 'clear'),
            ('invoice_id', 'varchar', 'clear'),
            ('subscription_id', 'varchar', 'clear'),
            ('plan_id', 'varchar', 'clear'),
            ('description', 'varchar', 'clear'),
            ('quantity', 'bigint', 'clear'),
            ('unit_amount', 'bigint', 'clear'),
            ('amount', 'bigint', 'clear'),
            ('currency', 'varchar', 'clear'),
            ('period', 'json', 'clear'),
            ('proration', 'boolean', 'clear'),
            ('created_at', 'timestamp', 'clear'),
            ('updated_at', 'timestamp', 'clear'),
        ],
        'payments': [
            ('id', 'varchar', 'clear'),
            ('invoice_id', 'varchar', 'clear'),
            ('customer_id', 'varchar', 'clear'),
            ('transaction_id', 'varchar', 'clear'),
            ('amount', 'bigint', 'clear'),
            ('currency', 'varchar', 'clear'),
            ('status', 'varchar', 'clear'),
            ('method', 'json', 'clear'),
            ('failure_code', 'varchar', 'clear'),
            ('amount_refunded', 'bigint', 'clear'),
            ('captured_at', 'timestamp', 'clear'),
            ('created_at', 'timestamp', 'clear'),
            ('updated_at', 'timestamp', 'clear'),
        ],
        'refunds': [
            ('id', 'varchar', 'clear'),
            ('payment_id', 'varchar', 'clear'),
            ('transaction_id', 'varchar', 'clear'),
            ('amount', 'bigint', 'clear'),
            ('currency', 'varchar', 'clear'),
            ('reason', 'varchar', 'clear'),
            ('status', 'varchar', 'clear'),
            ('created_at', 'timestamp', 'clear'),
            ('updated_at', 'timestamp', 'clear'),
        ],
        'events': [
            ('event_id', 'varchar', 'clear'),
            ('transaction_id', 'varchar', 'clear'),
            ('event_type', 'varchar', 'clear'),
            ('event_version', 'bigint', 'clear'),
            ('occurred_at', 'timestamp', 'clear'),
            ('created_at', 'timestamp', 'clear'),
            ('updated_at', 'timestamp', 'clear'),
            ('payload', 'json', 'clear'),
        ],
    } -%}
    {{ return(by[resource]) }}
{%- endmacro %}

{#- Documented fields that may be null. -#}
{% macro contract_nullable(resource) -%}
    {%- set by = {
        'customers': [],
        'plans': ['nickname', 'trial_period_days'],
        'subscriptions': ['canceled_at', 'trial_end', 'discount'],
        'invoices': ['subscription_id', 'due_date', 'paid_at'],
        'invoice_items': ['subscription_id', 'plan_id'],
        'payments': ['invoice_id', 'failure_code', 'captured_at'],
        'refunds': ['reason'],
        'events': [],
    } -%}
    {{ return(by[resource]) }}
{%- endmacro %}

{#- Documented enum fields and their values. -#}
{% macro contract_enums(resource) -%}
    {%- set by = {
        'customers': {'tax_exempt': ['none', 'exempt', 'reverse']},
        'plans': {'interval': ['month', 'year']},
        'subscriptions': {'status': ['trialing', 'active', 'past_due', 'canceled', 'unpaid']},
        'invoices': {'status': ['draft', 'open', 'paid', 'void', 'uncollectible']},
        'invoice_items': {},
        'payments': {'status': ['pending', 'succeeded', 'failed', 'refunded', 'partially_refunded', 'disputed']},
        'refunds': {'status': ['pending', 'succeeded', 'failed']},
        'events': {'event_type': ['AUTHORIZED', 'CAPTURED', 'VOIDED', 'REFUNDED', 'CHARGEBACK_OPENED', 'DISPUTE_UPDATED', 'CHARGEBACK_WON', 'CHARGEBACK_LOST']},
    } -%}
    {{ return(by[resource]) }}
{%- endmacro %}

{#- The PII class of an undocumented field until it is classified. -#}
{% macro contract_new_field_class(resource) -%}
    {%- set by = {
        'customers': 'dropped',
        'plans': 'clear',
        'subscriptions': 'clear',
        'invoices': 'clear',
        'invoice_items': 'clear',
        'payments': 'clear',
        'refunds': 'clear',
        'events': 'clear',
    } -%}
    {{ return(by[resource]) }}
{%- endmacro %}

{#- The PII class vocabulary. -#}
{% macro contract_pii_classes() -%}
    {{ return(['clear', 'hashed', 'dropped']) }}
{%- endmacro %}

{#- What raw.schema_drift.json_types may list (comma-separated, sorted). -#}
{% macro contract_json_types() -%}
    {{ return(['string', 'integer', 'number', 'boolean', 'timestamp', 'object', 'array', 'null']) }}
{%- endmacro %}

{#- The warehouse type of an undocumented field, as an aggregate over the rows of
    raw.schema_drift for that field: `column` is their json_types column. -#}
{% macro contract_type_of_json_types(column) -%}
    case
        when max(case when {{ column }} like '%array%' or {{ column }} like '%object%' then 1 else 0 end) = 1
            then 'json'
        when max(case when {{ column }} like '%boolean%' then 1 else 0 end) = 1
          and max(case when {{ column }} like '%integer%' or {{ column }} like '%number%' or {{ column }} like '%string%' or {{ column }} like '%timestamp%' then 1 else 0 end) = 1
            then 'json'
        when max(case when {{ column }} like '%boolean%' then 1 else 0 end) = 1
            then 'boolean'
        when max(case when {{ column }} like '%integer%' or {{ column }} like '%number%' then 1 else 0 end) = 1
          and max(case when {{ column }} like '%string%' or {{ column }} like '%timestamp%' then 1 else 0 end) = 1
            then 'json'
        when max(case when {{ column }} like '%number%' then 1 else 0 end) = 1
            then 'double'
        when max(case when {{ column }} like '%integer%' then 1 else 0 end) = 1
            then 'bigint'
        when max(case when {{ column }} like '%string%' then 1 else 0 end) = 1
            then 'varchar'
        when max(case when {{ column }} like '%timestamp%' then 1 else 0 end) = 1
            then 'timestamp'
        else 'varchar'
    end
{%- endmacro %}
