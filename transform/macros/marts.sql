{#- Column list of a curated table: every field of the resource by its PII class
    (classified_fields: the contract's class, or for a field the vendor added the class
    configured in the `pii_classes` var) - `clear` as sent, `hashed` as `<field>_hash` (the
    address as address_hash plus address_country), `dropped` left out - then lineage.
    `_pa_raw` stays in raw/staging: it would carry the PII back in. -#}
{% macro mart_columns(fields, alias='s') -%}
    {%- for column, type, pii in fields.classified -%}
        {%- if pii == 'hashed' and column == 'address' %}
    {{ pii_hash(concat_address(alias ~ '.' ~ qcol('address'))) }} as address_hash,
    {{ json_str(alias ~ '.' ~ qcol('address'), 'country') }} as address_country,
        {%- elif pii == 'hashed' %}
    {{ pii_hash(as_text(alias ~ '.' ~ qcol(column), type)) }} as {{ qcol(column ~ '_hash') }},
        {%- elif pii == 'clear' %}
    {{ alias }}.{{ qcol(column) }},
        {%- endif -%}
    {%- endfor %}
    {%- for column, type in lineage_columns() %}
    {{ alias }}.{{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- The address object as one stable string, independent of JSON key order. -#}
{% macro concat_address(column) -%}
    case when {{ column }} is null then null else
    coalesce({{ json_str(column, 'line1') }}, '') || '|' || coalesce({{ json_str(column, 'city') }}, '')
    || '|' || coalesce({{ json_str(column, 'postal_code') }}, '') || '|'
    || coalesce({{ json_str(column, 'country') }}, '') end
{%- endmacro %}

{#- Current state of one resource, merged on (environment, id): the latest version of each
    key touched since the last run (incremental.sql). With `history` (the resource's
    `*_history` mart, built first) it is that key's `is_current` row there - the versions
    are typed and ranked once, in the history mart; without, the latest of the key's new
    versions (typed from raw) and the row the mart holds for it. Deletable resources also
    re-merge every row whose delete flag changes, even without a new raw version: every
    flagged key (int_delete_flags) and every key flagged in the mart now, so a flag that is
    dropped (a stale notice, a snapshot that lists the id) or changes source is merged too. -#}
{% macro mart_current(resource, deletable=false, history=none) -%}
{%- set id = resource_id(resource) -%}
{%- set fields = resource_fields(resource) -%}
{%- set slice = incremental_slice(fields) -%}
{{ config(unique_key=['environment', id]) }}
-- depends_on: {{ ref('stg_' ~ resource) }}
with
{%- if slice %}
changed as (
    {%- if history %}
    select environment, {{ qcol(id) }} as key_id
    from {{ ref(history) }}
    where _pa_loaded_at > {{ slice.since }}
    {%- else %}
    {{ changed_keys(resource, slice.since) }}
    {%- endif %}
    {%- if deletable %}
    union
    select environment, id as key_id from {{ ref('int_delete_flags') }} where resource = '{{ resource }}'
    union
    select environment, {{ id }} as key_id from {{ this }} where is_deleted
    {%- endif %}
),
{%- endif %}

current_versions as (
    {%- if history %}
    select h.environment, {{ mart_column_names(fields, 'h') }}
    from {{ ref(history) }} as h
    where h.is_current
    {%- if slice %}
      and (h.environment, h.{{ qcol(id) }}) in (select environment, key_id from changed)
    {%- endif %}
    {%- else %}
    select s.environment, {{ mart_column_names(fields, 's') }}
    from (
        select v.*, {{ version_rank(resource, 'v', then='v._pa_source_rank') }} as version_rank
        from ({{ typed_versions(fields, slice) }}) as v
    ) as s
    where s.version_rank = 1
    {%- endif %}
)

select
    c.*,
    {%- if deletable %}
    d.id is not null as is_deleted,
    d.deleted_detected_at,
    d.deleted_source,
    {%- endif %}
    {{ transformed_at() }} as _pa_transformed_at
from current_versions as c
{%- if deletable %}
left join {{ ref('int_delete_flags') }} as d
    on d.environment = c.environment and d.resource = '{{ resource }}' and d.id = c.{{ qcol(id) }}
{%- endif %}
{%- endmacro %}

{#- The versions a curated model rebuilds, as curated columns plus `_pa_source_rank`: on a
    full build every version in raw (and pushed); on an incremental `slice`, the versions of
    the keys touched since the watermark (`changed`) - the new ones typed from raw (rank 0:
    only their JSON is read), and, when `slice.keep`, the rows the model (`this`) already
    holds for those keys (rank 1: typed when they arrived). A version in both is a redelivery
    (a re-polled version, or the poll of a pushed one): its new row, with its new lineage,
    ranks first, as a full build (which sees only that raw row) would have it. -#}
{% macro typed_versions(fields, slice) -%}
{%- set resource = fields.resource -%}
select s.environment, {{ mart_columns(fields) }}, 0 as _pa_source_rank
from ({{ staging_versions(resource, 'changed' if slice else none, with_raw=false,
                          polled_since=slice.since if slice and slice.keep else none,
                          fields=fields) }}) as s
{%- if slice and slice.keep %}
union all
select m.environment, {{ mart_column_names(fields, 'm') }}, 1 as _pa_source_rank
from {{ this }} as m
where (m.environment, m.{{ qcol(resource_id(resource)) }}) in (select environment, key_id from changed)
{%- endif %}
{%- endmacro %}

{#- The names of the columns mart_columns produces (a curated table's columns), in order. -#}
{% macro mart_column_list(fields) -%}
    {%- set names = [] -%}
    {%- for column, type, pii in fields.classified -%}
        {%- if pii == 'hashed' and column == 'address' -%}
            {%- do names.extend(['address_hash', 'address_country']) -%}
        {%- elif pii == 'hashed' -%}
            {%- do names.append(column ~ '_hash') -%}
        {%- elif pii == 'clear' -%}
            {%- do names.append(column) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for column, type in lineage_columns() -%}
        {%- do names.append(column) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

{#- mart_column_list as a select list, each column prefixed with `alias`. -#}
{% macro mart_column_names(fields, alias) -%}
    {%- for name in mart_column_list(fields) %}
    {{ alias }}.{{ qcol(name) }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- One row per observed version with its validity interval: valid_to is the next
    version's updated_at (null for the current one). Rebuilding a key recomputes the
    intervals of all its versions, so a late older version slots in between. -#}
{% macro mart_history(resource) -%}
{%- set id = resource_id(resource) -%}
{%- set fields = resource_fields(resource) -%}
{%- set slice = incremental_slice(fields) -%}
{{ config(unique_key=['environment', id, '_pa_version']) }}
-- depends_on: {{ ref('stg_' ~ resource ~ '_versions') }}
with
{%- if slice %}
changed as (
    {{ changed_keys(resource, slice.since) }}
),
{%- endif %}

versions as (
    select
        s.environment,
        {{- mart_column_names(fields, 's') }},
        s.updated_at as valid_from,
        lead(s.updated_at) over (
            partition by s.environment, s.{{ id }} order by s.updated_at, s._pa_version
        ) as valid_to
    {%- if slice and slice.keep %}
    from (
        select v.*, row_number() over (
            partition by v.environment, v.{{ qcol(id) }}, v._pa_version order by v._pa_source_rank
        ) as copy_rank
        from ({{ typed_versions(fields, slice) }}) as v
    ) as s
    where s.copy_rank = 1
    {%- else %}
    from ({{ typed_versions(fields, slice) }}) as s
    {%- endif %}
)

select versions.*, valid_to is null as is_current, {{ transformed_at() }} as _pa_transformed_at
from versions
{%- endmacro %}

{#- One-time migration from raw row v1 (docs/transform.md, "Migration"): marts built then
    carry the page's cursor and window on every row. A merge would leave a row's old values
    beside a newer version's lineage, so the columns are dropped (pre-hook of every mart);
    the coverage_ledger row that `_pa_request_id` names holds them. -#}
{% macro drop_legacy_lineage() -%}
    {%- if execute -%}
        {%- set existing = adapter.get_relation(database=this.database, schema=this.schema,
                                                identifier=this.identifier) -%}
        {%- if existing is not none and existing.is_table -%}
            {%- for column in adapter.get_columns_in_relation(existing) -%}
                {%- if column.name | lower in ['_pa_cursor', '_pa_window_start', '_pa_window_end'] -%}
                    {%- do log("dropping legacy lineage column " ~ existing ~ "." ~ column.name
                               ~ " (raw row v2: it is in the coverage ledger)", info=true) -%}
                    {%- do run_query("alter table " ~ existing ~ " drop column " ~ column.name) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
