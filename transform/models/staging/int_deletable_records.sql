-- Every known record of the resources the vendor hard-deletes, one row per (environment,
-- resource, id): the updated_at of its latest version (polled or pushed), and when we first
-- polled a version of it (null for a record known only from a webhook: the vendor may not
-- list it yet). The delete rules (snapshot evaluation, missing ids, delete flags) all start
-- from here.
{%- for resource in deletable_resources() %}
select
    '{{ resource }}' as resource,
    environment,
    id,
    max(updated_at) as updated_at,
    min(case when coalesce(_pa_request_id, '') like 'webhook:%' then null
             else _pa_extracted_at end) as first_polled_at
from {{ ref('stg_' ~ resource ~ '_versions') }}
group by environment, id
{%- if not loop.last %}
union all
{%- endif %}
{%- endfor %}
