-- Every id snapshot (complete or not) with the mass-delete guard's verdict.
with snapshots as (
    select environment, resource, snapshot_id, max(extracted_at) as listed_at, count(*) as ids_listed
    from {{ ref('stg_id_snapshots') }}
    group by environment, resource, snapshot_id
),

runs as (
    select environment, resource, snapshot_id, started_at, completed_at
    from {{ ref('stg_id_snapshot_runs') }}
    where status = 'complete'
),

known as (
    select resource, environment, count(*) as known_ids
    from {{ ref('int_deletable_records') }}
    group by resource, environment
),

missing as (
    select
        environment, resource, snapshot_id,
        count(*) as ids_missing,
        sum(case when missing_before then 0 else 1 end) as ids_newly_missing
    from {{ ref('int_snapshot_missing') }}
    group by environment, resource, snapshot_id
)

select
    s.environment,
    s.resource,
    s.snapshot_id,
    s.listed_at,
    s.ids_listed,
    r.started_at,
    r.completed_at,
    r.snapshot_id is not null as is_complete,
    coalesce(k.known_ids, 0) as known_ids,
    coalesce(m.ids_missing, 0) as ids_missing,
    coalesce(m.ids_newly_missing, 0) as ids_newly_missing,
    case when coalesce(k.known_ids, 0) = 0 then 0
         else coalesce(m.ids_newly_missing, 0) * 1.0 / k.known_ids end as newly_missing_share,
    r.snapshot_id is not null
        and (coalesce(k.known_ids, 0) = 0
             or coalesce(m.ids_newly_missing, 0) * 1.0 / k.known_ids <= {{ var('max_delete_share') }})
        as is_usable
from snapshots as s
left join runs as r
    on r.environment = s.environment and r.resource = s.resource and r.snapshot_id = s.snapshot_id
left join known as k
    on k.environment = s.environment and k.resource = s.resource
left join missing as m
    on m.environment = s.environment and m.resource = s.resource and m.snapshot_id = s.snapshot_id
