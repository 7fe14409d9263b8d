-- Additive fields the tap noticed (dotted paths, nested ones included).
select
    cast(environment as varchar) as environment,
    cast(stream as varchar) as stream,
    cast(field_path as varchar) as field_path,
    cast(first_seen_at as timestamp) as first_seen_at,
    cast(run_id as varchar) as run_id,
    cast(example_record_id as varchar) as example_record_id
from {{ raw_or_empty('schema_drift', ['environment', 'stream', 'field_path', 'first_seen_at', 'run_id', 'example_record_id']) }} as raw_table
