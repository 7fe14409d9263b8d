-- Fields present in raw payloads (`_pa_raw`, top level) that no staging model maps, plus
-- the nested paths the tap reported in raw.schema_drift. Reviewed, then either mapped in
-- macros/resources.sql or accepted as noise.
{%- set resources = resource_names() %}
with raw_keys as (
    {%- for r in resources %}
    select environment, '{{ r }}' as stream, field_name, _pa_extracted_at, record_id
    from (
        {{ json_top_level_keys(source('raw', r), '_pa_raw',
                               ['environment', '_pa_extracted_at', resource_id(r) ~ ' as record_id']) }}
    ) as k
    where field_name not in (
        {%- for column, type in resource_columns(r) %}'{{ column }}'{{ ', ' if not loop.last }}{% endfor -%}
    )
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

from_raw as (
    select
        environment, stream, field_name as field_path,
        min(_pa_extracted_at) as first_seen_at,
        count(*) as versions_seen,
        min(record_id) as example_record_id,
        'raw_payload' as seen_in
    from raw_keys
    group by environment, stream, field_name
),

from_tap as (
    select
        environment, stream, field_path,
        min(first_seen_at) as first_seen_at,
        cast(null as bigint) as versions_seen,
        min(example_record_id) as example_record_id,
        'tap_schema_drift' as seen_in
    from {{ ref('stg_schema_drift') }}
    group by environment, stream, field_path
)

select * from from_raw
union all
select * from from_tap
where not exists (
    select 1 from from_raw
    where from_raw.environment = from_tap.environment and from_raw.stream = from_tap.stream
      and from_raw.field_path = from_tap.field_path
)
