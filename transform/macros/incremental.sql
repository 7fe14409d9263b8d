{#- Keys (environment, id) to (re)build in an incremental run: every key with a raw row
    extracted since the model's newest `_pa_extracted_at`, minus the overlap, polled or
    received by webhook (`_pa_extracted_at` = received_at, the same wall clock). Rebuilding
    a key re-ranks all of its versions, so a late, older or re-fetched version can never
    replace a newer one, and any re-run converges to the full-refresh result. -#}
{% macro changed_keys(resource, key_column=none) -%}
{%- set id = key_column or resource_id(resource) -%}
select distinct environment,
       {% if key_column %}{{ json_str('_pa_raw', key_column) }}{% else %}{{ id }}{% endif %} as key_id
from {{ source('raw', resource) }}
{{ since_watermark() }}
union
select environment,
       {% if key_column %}{{ json_str('_pa_raw', key_column) }}{% else %}object_id{% endif %} as key_id
from {{ ref('stg_webhook_notifications') }}
where resource = '{{ resource }}'
{%- if is_incremental() %}
  and _pa_extracted_at >= ({{ watermark() }})
{%- endif %}
{%- endmacro %}

{#- The model's newest `_pa_extracted_at` minus the overlap (1900 for an empty model). -#}
{% macro watermark() -%}
    select coalesce(
        {{ dbt.dateadd('hour', -1 * var('incremental_overlap_hours'), 'max(_pa_extracted_at)') }},
        cast('1900-01-01 00:00:00' as timestamp))
    from {{ this }}
{%- endmacro %}

{% macro since_watermark() -%}
{%- if is_incremental() %}
where cast(_pa_extracted_at as timestamp) >= ({{ watermark() }})
{%- endif %}
{%- endmacro %}

{#- Filter a staging relation (alias `s`) on the changed keys; a no-op on full builds. -#}
{% macro only_changed(key_column) -%}
{%- if is_incremental() %}
where exists (
    select 1 from changed as c
    where c.environment = s.environment and c.key_id = s.{{ key_column }}
)
{%- endif %}
{%- endmacro %}
