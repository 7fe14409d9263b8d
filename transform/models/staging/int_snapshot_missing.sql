-- For every complete id snapshot: each id that the listing should have returned but did
-- not. "Should have" = its latest known version is older than the snapshot's start (a
-- record created or updated during the listing may legitimately be absent or moved).
with runs as (
    select
        environment, resource, snapshot_id, started_at, completed_at,
        lag(snapshot_id) over (
            partition by environment, resource order by completed_at, snapshot_id
        ) as previous_snapshot_id,
        lag(started_at) over (
            partition by environment, resource order by completed_at, snapshot_id
        ) as previous_started_at
    from {{ ref('stg_id_snapshot_runs') }}
    where status = 'complete'
),

known as (
    select 'customers' as resource, environment, id, updated_at from {{ ref('stg_customers') }}
    union all
    select 'plans' as resource, environment, id, updated_at from {{ ref('stg_plans') }}
    union all
    select 'invoice_items' as resource, environment, id, updated_at
    from {{ ref('stg_invoice_items') }}
),

eligible as (
    select r.*, k.id, k.updated_at
    from runs as r
    inner join known as k
        on k.environment = r.environment and k.resource = r.resource
        and k.updated_at < r.started_at
)

select
    e.environment, e.resource, e.snapshot_id, e.started_at, e.completed_at, e.id,
    -- Missing already from the previous complete snapshot: not news, so it does not count
    -- towards this snapshot's mass-delete share.
    (
        e.previous_snapshot_id is not null
        and e.updated_at < e.previous_started_at
        and p.id is null
    ) as missing_before
from eligible as e
left join {{ ref('stg_id_snapshots') }} as s
    on s.environment = e.environment and s.resource = e.resource
    and s.snapshot_id = e.snapshot_id and s.id = e.id
left join {{ ref('stg_id_snapshots') }} as p
    on p.environment = e.environment and p.resource = e.resource
    and p.snapshot_id = e.previous_snapshot_id and p.id = e.id
where s.id is null
