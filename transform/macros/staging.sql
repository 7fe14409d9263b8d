{#- Every raw version of a resource, typed: one row per (environment, id, _pa_version).
    Only contract fields are selected, so added vendor fields never break staging. -#}
{% macro staging_versions(resource) -%}
select
    cast(environment as varchar) as environment,
    {%- for column, type in resource_columns(resource) %}
    {{ typed(column, type) }},
    {%- endfor %}
    {%- for column, type in lineage_columns() %}
    {{ typed(column, type) }},
    {%- endfor %}
    _pa_raw
from {{ source('raw', resource) }}
{%- endmacro %}

{#- Latest version per (environment, id): the greatest updated_at; equal updated_at (the
    vendor can rewrite a record without moving updated_at) is broken by the version hash,
    never by load order, so every rebuild and every incremental run picks the same row. -#}
{% macro staging_latest(resource) -%}
{%- set id = resource_id(resource) -%}
with ranked as (
    select
        v.*,
        row_number() over (
            partition by v.environment, v.{{ id }}
            order by v.updated_at desc, v._pa_version desc
        ) as version_rank
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
