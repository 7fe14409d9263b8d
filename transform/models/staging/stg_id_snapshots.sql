-- Ids listed by a reconciliation snapshot (customers, plans, invoice_items).
select
    cast(environment as varchar) as environment,
    cast(resource as varchar) as resource,
    cast(snapshot_id as varchar) as snapshot_id,
    cast(id as varchar) as id,
    cast(updated_at as timestamp) as updated_at,
    cast(run_id as varchar) as run_id,
    cast(extracted_at as timestamp) as extracted_at
from {{ raw_or_empty('id_snapshots', ['environment', 'resource', 'snapshot_id', 'id', 'updated_at', 'run_id', 'extracted_at']) }} as raw_table
