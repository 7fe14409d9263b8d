-- The ids a held-back id snapshot would have newly marked deleted: what on-call checks with
-- the vendor (GET /v1/<resource>/<id> answers 404 for a deleted record). Only the newest
-- snapshot of each resource counts: a later usable snapshot supersedes an older verdict.
-- Empty when every newest snapshot was applied (warn-severity test; partnerapi-ops alerts).
with newest as (
    select *
    from {{ ref('int_snapshot_evaluation') }}
    qualify row_number() over (
        partition by environment, resource order by listed_at desc, snapshot_id desc
    ) = 1
)

select
    n.environment,
    n.resource,
    n.snapshot_id,
    n.hold_reason,
    m.id,
    n.ids_listed,
    n.id_count,
    n.previous_id_count,
    n.known_ids,
    n.ids_newly_missing,
    n.newly_missing_share,
    n.completed_at
from newest as n
inner join {{ ref('int_snapshot_missing') }} as m
    on m.environment = n.environment and m.resource = n.resource
    and m.snapshot_id = n.snapshot_id
where n.hold_reason is not null
  and not m.missing_before
