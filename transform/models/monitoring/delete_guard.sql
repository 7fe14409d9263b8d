-- Per (environment, resource): the newest id snapshot and whether its deletes were applied.
-- guard_status: applied | incomplete_snapshot | listing_count_mismatch | mass_delete_held_back
-- (int_snapshot_evaluation says why). A held-back snapshot changes no flag (they stay as the
-- last usable one left them) and is a warning with the ids to check (held_back_deletes,
-- partnerapi-ops alert `deletes_held_back`), not a failed build: the reconcile job goes on.
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
    ids_listed,
    id_count,
    previous_id_count,
    known_ids,
    ids_missing,
    ids_newly_missing,
    newly_missing_share,
    case
        when hold_reason is null then 'applied'
        when hold_reason = 'mass_delete' then 'mass_delete_held_back'
        else hold_reason
    end as guard_status
from ranked
where recency = 1
