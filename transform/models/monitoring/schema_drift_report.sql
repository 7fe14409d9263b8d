-- Every field the vendor added (the tap's raw.schema_drift: top-level and nested paths),
-- when and where it first appeared, and what the warehouse made of it: the column type a
-- top-level field got in staging and the marts, and its PII class (docs/transform.md,
-- "New vendor fields"). Read from the tap's small drift table, never by rescanning raw.
{%- set configured = var('pii_classes', {}) or {} %}
{%- set mapped = [] %}
{%- for r in resource_names() %}
    {%- set documented = contract_fields(r) | map(attribute=0) | list %}
    {%- for name, type, pii in classified_fields(r) if name not in documented %}
        {%- do mapped.append((r, name, type, pii)) %}
    {%- endfor %}
{%- endfor %}
with drift as (
    select
        environment,
        stream,
        field_path,
        min(first_seen_at) as first_seen_at,
        min(example_record_id) as example_record_id,
        count(distinct run_id) as runs_seen,
        max(json_types) as latest_json_types
    from {{ ref('stg_schema_drift') }}
    group by environment, stream, field_path
)

select
    environment,
    stream,
    field_path,
    first_seen_at,
    example_record_id,
    runs_seen,
    latest_json_types,
    case
        when 1 = 0 then null
    {%- for r, name, type, pii in mapped %}
        when stream = '{{ r }}' and field_path = '{{ name }}' then '{{ type }}'
    {%- endfor %}
        else null
    end as column_type,
    case
        when 1 = 0 then null
    {%- for r, name, type, pii in mapped %}
        when stream = '{{ r }}' and field_path = '{{ name }}' then '{{ pii }}'
    {%- endfor %}
        else null
    end as pii_class,
    case
        when field_path like '%.%' or field_path like '%[%' then 'nested: in its JSON column'
        {%- for r, name, type, pii in mapped %}
        when stream = '{{ r }}' and field_path = '{{ name }}' then 'column'
        {%- endfor %}
        else 'not mapped: in _pa_raw only'
    end as mapped_as,
    -- A field someone must look at: in _pa_raw only, or left out of the curated tables
    -- only because nobody has classified it yet (the `pii_classes` var).
    case
        when field_path like '%.%' or field_path like '%[%' then false
        {%- for r, name, type, pii in mapped %}
        when stream = '{{ r }}' and field_path = '{{ name }}' then {{ 'true' if pii == 'dropped' and (r ~ '.' ~ name) not in configured else 'false' }}
        {%- endfor %}
        else true
    end as needs_review
from drift
