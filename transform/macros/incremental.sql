{#- Incremental slicing (docs/transform.md, "What a cycle reads"). Every raw row carries its
    load stamp (`_sdc_batched_at`: our loader writes it; stamp_unloaded_rows stamps the rows
    of a loader that does not). A model remembers how far it has read as the newest
    `_pa_loaded_at` it holds; a run reads the raw rows stamped since then (less
    `incremental_overlap_minutes`), takes the keys they touch, and rebuilds those keys from
    *all* their versions - the new ones typed from raw, the ones the model already holds
    from its own typed rows (incremental_slice) - so a late version, an older version or a
    re-fetched one lands exactly where a full rebuild would put it, and the cost follows the
    delta, not the table. -#}

{#- How an incremental run of a model over a resource (its resource_fields) reads, or none on a full build:
    `since`, the watermark (a literal); `keep`, whether the model's existing rows stand for
    the versions they hold. They do unless the model lacks a column it now produces (a
    field the vendor added or someone classified): that run re-types the touched keys'
    versions from raw, as a full build would. -#}
{% macro incremental_slice(fields) -%}
    {%- if not execute or not is_incremental() -%}{{ return(none) }}{%- endif -%}
    {%- set existing = adapter.get_columns_in_relation(this) | map(attribute='name')
                       | map('lower') | list -%}
    {%- set missing = mart_column_list(fields) | map('lower') | reject('in', existing)
                      | list -%}
    {{ return({'since': watermark(), 'keep': not missing}) }}
{%- endmacro %}

{#- Keys (environment, key_id) of a resource touched since the model's watermark: polled
    rows and webhook notifications. -#}
{% macro changed_keys(resource, since) -%}
{%- set id = resource_id(resource) -%}
select environment, {{ id }} as key_id
from {{ source('raw', resource) }}
where _sdc_batched_at > {{ since }}
union
select environment, object_id as key_id
from {{ ref('stg_webhook_notifications') }}
where resource = '{{ resource }}'
  and object_id is not null
  and _pa_loaded_at > {{ since }}
{%- endmacro %}

{#- The model's newest `_pa_loaded_at` minus the overlap (1900 for an empty model, or one
    built before load stamps: the first run after the upgrade rebuilds it whole), read when
    dbt compiles the model - just before it runs, in the same thread - and written into
    the SQL as a literal: DuckDB's zone maps and Snowflake's micro-partition pruning skip
    every block of raw loaded before a constant, not before a subquery's value, so only
    the delta's rows (and their JSON) are read. -#}
{% macro watermark() -%}
    {%- set floor = "cast('1900-01-01 00:00:00' as timestamp)" -%}
    {%- if not execute or not is_incremental() -%}{{ return(floor) }}{%- endif -%}
    {%- set sql -%}
        select {{ dbt.dateadd('minute', -1 * var('incremental_overlap_minutes'),
                              'max(_pa_loaded_at)') }}
        from {{ this }}
    {%- endset -%}
    {%- set value = run_query(sql).columns[0].values()[0] -%}
    {%- if value is none -%}{{ return(floor) }}{%- endif -%}
    {%- if value is not string -%}
        {%- set value = value.strftime('%Y-%m-%d %H:%M:%S.%f') -%}
    {%- endif -%}
    {{ return("cast('" ~ value ~ "' as timestamp)") }}
{%- endmacro %}

{#- When this dbt invocation started, in UTC like the load stamps: every incremental model
    writes it as `_pa_transformed_at` on the rows it merges - the curated row's own lineage
    (which run wrote it), and what the cycle's data tests read (generic_tests.sql). -#}
{% macro transformed_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#- Filter a relation (alias `s`) on the changed keys; a no-op on full builds. -#}
{% macro only_changed(key_column) -%}
{%- if is_incremental() %}
where (s.environment, s.{{ key_column }}) in (select environment, key_id from changed)
{%- endif %}
{%- endmacro %}

{#- on-run-start: every raw table the incremental models slice has a load stamp, and a row
    a loader left unstamped (target-snowflake's BATCH path, rows loaded before stamps
    existed) gets the time of this run. A row committed while the run reads stays null and
    is stamped - and read - by the next run: nothing is skipped, whatever the loader. -#}
{% macro stamp_unloaded_rows() -%}
    {%- if execute and flags.WHICH in ('run', 'build') -%}
        {%- for table in resource_names() + ['webhook_notifications'] -%}
            {%- set relation = source('raw', table) -%}
            {%- set found = adapter.get_relation(database=relation.database,
                                                 schema=relation.schema,
                                                 identifier=relation.identifier) -%}
            {%- if found is not none -%}
                {%- set names = adapter.get_columns_in_relation(found) | map(attribute='name')
                                | map('lower') | list -%}
                {%- if '_sdc_batched_at' not in names -%}
                    {%- do run_query('alter table ' ~ found ~ ' add column _sdc_batched_at timestamp') -%}
                {%- endif -%}
                {%- do run_query('update ' ~ found ~ ' set _sdc_batched_at = '
                                 ~ load_stamp_now() ~ ' where _sdc_batched_at is null') -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- The run's time as a timestamp without zone, in UTC like the loader's stamps. -#}
{% macro load_stamp_now() -%}
    {{ return(adapter.dispatch('load_stamp_now', 'partnerapi')()) }}
{%- endmacro %}

{% macro default__load_stamp_now() -%}cast(get_current_timestamp() at time zone 'UTC' as timestamp){%- endmacro %}

{% macro snowflake__load_stamp_now() -%}sysdate(){%- endmacro %}
