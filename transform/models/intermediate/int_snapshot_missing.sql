-- For every complete id snapshot: each id that the listing should have returned but did
-- not. "Should have" = the record was already visible when the listing started - we had
-- polled it (a pushed webhook version proves nothing: the vendor may not list the record
-- for up to 48 h) before the snapshot's first page, on the same (our) clock - and its
-- latest known version is older than the snapshot's start (a record created or updated
-- during the listing may legitimately be absent or moved).
with listings as (
    select environment, resource, snapshot_id, min(extracted_at) as listing_started_at
    from {{ ref('stg_id_snapshots') }}
    group by environment, resource, snapshot_id
),

complete_runs as (
    select r.environment, r.resource, r.snapshot_id, r.started_at, r.completed_at,
           coalesce(l.listing_started_at, r.completed_at) as listing_started_at
    from {{ ref('stg_id_snapshot_runs') }} as r
    left join listings as l
        on l.environment = r.environment and l.resource = r.resource
        and l.snapshot_id = r.snapshot_id
    where r.status = 'complete'
),

runs as (
    select
        *,
        lag(snapshot_id) over (
            partition by environment, resource order by completed_at, snapshot_id
        ) as previous_snapshot_id,
        lag(started_at) over (
            partition by environment, resource order by completed_at, snapshot_id
        ) as previous_started_at,
        lag(listing_started_at) over (
            partition by environment, resource order by completed_at, snapshot_id
        ) as previous_listing_started_at
    from complete_runs
),

eligible as (
    select r.*, k.id, k.updated_at, k.first_polled_at
    from runs as r
    inner join {{ ref('int_deletable_records') }} as k
        on k.environment = r.environment and k.resource = r.resource
        and k.updated_at < r.started_at
        and k.first_polled_at < r.listing_started_at
)

select
    e.environment, e.resource, e.snapshot_id, e.started_at, e.completed_at, e.id,
    -- Missing already from the previous complete snapshot: not news, so it does not count
    -- towards this snapshot's mass-delete share.
    (
        e.previous_snapshot_id is not null
        and e.updated_at < e.previous_started_at
        and e.first_polled_at < e.previous_listing_started_at
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
