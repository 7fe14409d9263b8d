-- Undocumented fields the tap noticed (dotted paths, nested ones included): one row per
-- (environment, stream, field, run), with the JSON types of the values seen in that run
-- (null when the drift table predates the tap recording them).
{%- set relation = source('raw', 'schema_drift') %}
{%- set found = adapter.get_relation(database=relation.database, schema=relation.schema,
                                     identifier=relation.identifier) if execute else none %}
{%- set has_types = found is not none
    and 'json_types' in (adapter.get_columns_in_relation(found) | map(attribute='name')
                         | map('lower') | list) %}
select
    cast(environment as varchar) as environment,
    cast(stream as varchar) as stream,
    cast(field_path as varchar) as field_path,
    cast(first_seen_at as timestamp) as first_seen_at,
    cast(run_id as varchar) as run_id,
    cast(example_record_id as varchar) as example_record_id,
    cast({{ 'json_types' if has_types else 'null' }} as varchar) as json_types
from {{ raw_or_empty('schema_drift', ['environment', 'stream', 'field_path', 'first_seen_at', 'run_id', 'example_record_id']) }} as raw_table
