-- Per (environment, resource): the newest id snapshot and whether deletes come from it.
-- guard_status: applied | incomplete_snapshot | mass_delete_blocked. Anything but
-- `applied` fails the test in monitoring.yml; flags stay as set by the last usable one.
with ranked as (
    select
        *,
        row_number() over (
            partition by environment, resource order by listed_at desc, snapshot_id desc
        ) as recency
    from {{ ref('int_snapshot_evaluation') }}
)

select
    environment,
    resource,
    snapshot_id as newest_snapshot_id,
    listed_at,
    is_complete,
    known_ids,
    ids_missing,
    ids_newly_missing,
    newly_missing_share,
    case
        when not is_complete then 'incomplete_snapshot'
        when not is_usable then 'mass_delete_blocked'
        else 'applied'
    end as guard_status
from ranked
where recency = 1
