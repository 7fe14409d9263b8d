{#- Every version of a resource, typed: one row per (environment, id, _pa_version).
    A raw row is the vendor's object (`_pa_raw`) with its keys and lineage (raw row v2,
    design.md); every column here is typed out of `_pa_raw` - documented fields and the
    fields the vendor added since (fields.sql) - so polled and pushed versions are typed by
    one rule, and a raw table of the older layout (typed copies beside `_pa_raw`) reads the
    same. Versions come from polling (`raw.<resource>`) and from webhooks (docs/webhooks.md):
    a pushed version that polling also delivered is dropped here, because pull is the source
    of truth and its lineage names a page of the coverage ledger; a pushed version only
    counts until (and unless) a poll brings the same bytes.
    `keys`: a relation of (environment, key_id), the incremental slice; `polled_since`: read
    only the polled rows loaded after that literal (the new versions of those keys);
    `fields`: resource_fields, when the caller has read them. -#}
{% macro staging_versions(resource, keys=none, with_raw=true, polled_since=none, fields=none) -%}
{%- set id = resource_id(resource) -%}
{%- set columns = (fields or resource_fields(resource)).typed -%}
select
    environment,
    {%- for column, type in columns %}
    {{ typed_from_json('_pa_raw', column, type) }},
    {%- endfor %}
    {%- for column, type in lineage_columns() %}
    {{ column }}{{ ',' if with_raw or not loop.last }}
    {%- endfor %}
    {%- if with_raw %}
    _pa_raw
    {%- endif %}
from ({{ raw_versions(resource, none if polled_since else keys, polled_since) }}) as polled

union all

select pushed.*
from ({{ webhook_versions(resource, columns, keys, with_raw) }}) as pushed
where not exists (
    select 1 from {{ source('raw', resource) }} as polled
    where polled.environment = pushed.environment
      and polled.{{ id }} = pushed.{{ qcol(id) }}
      and polled._pa_version = pushed._pa_version
)
{%- endmacro %}

{#- The polled raw rows of a resource with their lineage: the run id and reception time
    are the coverage ledger's row of the record's request (raw row v2 keeps per-page facts
    off the record; a raw table of an older layout carries them itself, and they win).
    `keys`: a relation of (environment, key_id) - the incremental slice: only those keys'
    rows are read past their key columns; `since`: only the rows loaded after it. -#}
{% macro raw_versions(resource, keys=none, since=none) -%}
{%- set id = resource_id(resource) -%}
{%- set legacy = raw_lineage_columns(resource) -%}
select
    cast(r.environment as varchar) as environment,
    cast(r._pa_version as varchar) as _pa_version,
    cast({{ 'coalesce(r._pa_run_id, l.run_id)' if '_pa_run_id' in legacy else 'l.run_id' }}
         as varchar) as _pa_run_id,
    cast(r._pa_request_id as varchar) as _pa_request_id,
    cast({{ 'coalesce(r._pa_extracted_at, l.completed_at)' if '_pa_extracted_at' in legacy
            else 'l.completed_at' }} as timestamp) as _pa_extracted_at,
    cast(r._sdc_batched_at as timestamp) as _pa_loaded_at,
    {{ as_json('r._pa_raw') }} as _pa_raw
from {{ source('raw', resource) }} as r
left join {{ raw_or_empty('coverage_ledger', ['environment', 'stream', 'request_id', 'run_id',
                                              'completed_at']) }} as l
    on l.environment = r.environment and l.stream = '{{ resource }}'
    and l.request_id = r._pa_request_id
{%- if since %}
where r._sdc_batched_at > {{ since }}
{%- elif keys %}
-- A semi-join on the key columns (not a correlated EXISTS, which DuckDB decorrelates by
-- materializing every raw row, JSON included: 4x slower at 1 M events).
where (r.environment, r.{{ id }}) in (select environment, key_id from {{ keys }})
{%- endif %}
{%- endmacro %}

{#- Which per-record lineage columns a raw table of an older layout still has. -#}
{% macro raw_lineage_columns(resource) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set relation = source('raw', resource) -%}
    {%- set found = adapter.get_relation(database=relation.database, schema=relation.schema,
                                         identifier=relation.identifier) -%}
    {%- if found is none -%}{{ return([]) }}{%- endif -%}
    {%- set names = adapter.get_columns_in_relation(found) | map(attribute='name')
                    | map('lower') | list -%}
    {{ return(['_pa_run_id', '_pa_extracted_at'] | select('in', names) | list) }}
{%- endmacro %}

{#- The record versions carried by `created` / `updated` notifications of a resource, typed
    like the polled ones. Only objects of the documented shape (`object_conforms`): a
    version missing a documented field (a vendor rename) must not reach staging, as the
    tap quarantines such a polled version. One row per version: of several notifications
    carrying the same bytes, the one received last names the lineage (as a re-polled version
    names its latest request). -#}
{% macro webhook_versions(resource, columns, keys=none, with_raw=true) -%}
{%- set id = resource_id(resource) -%}
select
    environment,
    {%- for column, type in columns %}
    {{ typed_from_json('_pa_raw', column, type) }},
    {%- endfor %}
    {%- for column, type in lineage_columns() %}
    {{ column }}{{ ',' if with_raw or not loop.last }}
    {%- endfor %}
    {%- if with_raw %}
    _pa_raw
    {%- endif %}
from (
    select
        n.*,
        row_number() over (
            partition by n.environment, {{ json_str('n._pa_raw', id) }}, n._pa_version
            order by n._pa_extracted_at desc, n.notification_id desc
        ) as copy_rank
    from {{ ref('stg_webhook_notifications') }} as n
    where n.resource = '{{ resource }}'
      and n.action in ('created', 'updated')
      and n.object_conforms
      and n._pa_version is not null
      and {{ json_str('n._pa_raw', id) }} is not null
      {%- if keys %}
      and (n.environment, n.object_id) in (select environment, key_id from {{ keys }})
      {%- endif %}
) as notified
where copy_rank = 1
{%- endmacro %}

{#- Latest version per (environment, id): the greatest updated_at; equal updated_at (the
    vendor can rewrite a record without moving updated_at) is broken by the version hash,
    never by load order, so every rebuild and every incremental run picks the same row. -#}
{% macro staging_latest(resource) -%}
with ranked as (
    select v.*, {{ version_rank(resource, 'v') }} as version_rank
    from {{ ref('stg_' ~ resource ~ '_versions') }} as v
)
select
    environment,
    {%- for column, type in resource_columns(resource) %}
    {{ qcol(column) }},
    {%- endfor %}
    {%- for column, type in lineage_columns() %}
    {{ column }},
    {%- endfor %}
    _pa_raw
from ranked
where version_rank = 1
{%- endmacro %}

{#- 1 for the latest version of each (environment, id) of `alias`: the rule above, in one
    place for the staging views and the marts. -#}
{% macro version_rank(resource, alias, then=none) -%}
    row_number() over (
        partition by {{ alias }}.environment, {{ alias }}.{{ qcol(resource_id(resource)) }}
        order by {{ alias }}.updated_at desc, {{ alias }}._pa_version desc
        {%- if then %}, {{ then }}{% endif %}
    )
{%- endmacro %}

{#- An audit table the tap creates only once its stream was selected (id snapshots come
    from the reconciliation job; quarantine and drift from the first bad record). Until
    then read an empty relation with the same columns, so the rest of the project builds. -#}
{% macro raw_or_empty(table, columns) -%}
    {%- set relation = source('raw', table) -%}
    {%- if execute and adapter.get_relation(database=relation.database, schema=relation.schema,
                                            identifier=relation.identifier) is none -%}
        (select {% for c in columns %}null as {{ qcol(c) }}{{ ', ' if not loop.last }}{% endfor %}
         where 1 = 0)
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}
