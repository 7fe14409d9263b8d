-- A row here is the tap's promise that the snapshot's listing completed.
select
    cast(environment as varchar) as environment,
    cast(resource as varchar) as resource,
    cast(snapshot_id as varchar) as snapshot_id,
    cast(run_id as varchar) as run_id,
    cast(started_at as timestamp) as started_at,
    cast(completed_at as timestamp) as completed_at,
    cast(id_count as bigint) as id_count,
    cast(status as varchar) as status
from {{ raw_or_empty('id_snapshot_runs', ['environment', 'resource', 'snapshot_id', 'run_id', 'started_at', 'completed_at', 'id_count', 'status']) }} as raw_table
