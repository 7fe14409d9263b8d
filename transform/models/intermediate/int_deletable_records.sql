-- Every known record of the resources the vendor hard-deletes, one row per (environment,
-- resource, id): the updated_at of its latest version (polled or pushed), and when we first
-- polled a version of it (null for a record known only from a webhook: the vendor may not
-- list it yet). The delete rules (snapshot evaluation, missing ids, delete flags) all start
-- from here. A table kept incrementally like the marts (incremental.sql; their incremental
-- settings, dbt_project.yml): a run re-derives only the keys touched since its watermark,
-- from all their versions.
{{ config(materialized='incremental', unique_key=['resource', 'environment', 'id']) }}
-- depends_on: {{ ref('stg_webhook_notifications') }}
{%- set since = watermark() if is_incremental() else none %}
{%- for resource in deletable_resources() %}
{%- if not loop.first %}
union all
{%- endif %}
select
    '{{ resource }}' as resource,
    environment,
    id,
    max(updated_at) as updated_at,
    min(case when coalesce(_pa_request_id, '') like 'webhook:%' then null
             else _pa_extracted_at end) as first_polled_at,
    max(_pa_loaded_at) as _pa_loaded_at,
    {{ transformed_at() }} as _pa_transformed_at
from (
    {%- if since %}
    with changed as (
        {{ changed_keys(resource, since) }}
    )
    {%- endif %}
    {{ staging_versions(resource, 'changed' if since else none, with_raw=false) }}
) as versions_{{ resource }}
group by environment, id
{%- endfor %}
