-- Every id snapshot (complete or not) with the delete guard's verdict and its evidence.
-- A snapshot is held back (hold_reason not null, its deletes not applied) when:
--   incomplete_snapshot    no id_snapshot_runs row: the listing never reached its last page;
--   listing_count_mismatch the rows loaded differ from the id_count the tap counted at the
--                          last page: part of the listing was lost between tap and warehouse;
--   mass_delete            it newly misses MORE than `max_delete_share` of the known ids AND
--                          more than `mass_delete_min_ids` of them - what a truncated listing
--                          looks like. Both, so that one delete among 14 plans (7 %) is an
--                          ordinary delete, and a dozen among 120 customers is held back.
with snapshots as (
    select environment, resource, snapshot_id, max(extracted_at) as listed_at, count(*) as ids_listed
    from {{ ref('stg_id_snapshots') }}
    group by environment, resource, snapshot_id
),

runs as (
    select
        environment, resource, snapshot_id, started_at, completed_at, id_count,
        -- The previous complete listing's size: evidence for whoever checks a held delete.
        lag(id_count) over (
            partition by environment, resource order by completed_at, snapshot_id
        ) as previous_id_count
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
),

evaluated as (
    select
        s.environment,
        s.resource,
        s.snapshot_id,
        s.listed_at,
        s.ids_listed,
        r.id_count,
        r.previous_id_count,
        r.started_at,
        r.completed_at,
        r.snapshot_id is not null as is_complete,
        coalesce(k.known_ids, 0) as known_ids,
        coalesce(m.ids_missing, 0) as ids_missing,
        coalesce(m.ids_newly_missing, 0) as ids_newly_missing,
        case when coalesce(k.known_ids, 0) = 0 then 0
             else coalesce(m.ids_newly_missing, 0) * 1.0 / k.known_ids end
            as newly_missing_share
    from snapshots as s
    left join runs as r
        on r.environment = s.environment and r.resource = s.resource
        and r.snapshot_id = s.snapshot_id
    left join known as k
        on k.environment = s.environment and k.resource = s.resource
    left join missing as m
        on m.environment = s.environment and m.resource = s.resource
        and m.snapshot_id = s.snapshot_id
),

judged as (
    select
        *,
        case
            when not is_complete then 'incomplete_snapshot'
            when ids_listed <> id_count then 'listing_count_mismatch'
            when newly_missing_share > {{ var('max_delete_share') }}
                 and ids_newly_missing > {{ var('mass_delete_min_ids') }} then 'mass_delete'
        end as hold_reason
    from evaluated
)

select *, hold_reason is null as is_usable
from judged
