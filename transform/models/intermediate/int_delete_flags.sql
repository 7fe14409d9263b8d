-- Every record the deletable marts flag, with where the flag comes from.
--   reconciliation: missing from the latest usable id snapshot (int_deleted_ids; the
--                   mass-delete guard applies). Authoritative, and wins over a notice.
--   webhook:        a `*.deleted` notice (stg_webhook_deletes) that is still credible:
--                   no version of the record is newer than the notice (deliveries come out
--                   of order, so a newer version means the notice is stale), and no usable
--                   snapshot that started more than `delete_visibility_lag_hours` after it
--                   still listed the id. A delete, like any change, can take up to 48 h to
--                   show in listings, so a snapshot taken sooner that still lists the id
--                   proves nothing; one that misses it is a reconciliation delete anyway.
with reconciled as (
    select environment, resource, id, deleted_detected_at
    from {{ ref('int_deleted_ids') }}
),

latest_usable as (
    select environment, resource, max(started_at) as started_at
    from {{ ref('int_snapshot_evaluation') }}
    where is_usable
    group by environment, resource
),

notified as (
    select d.environment, d.resource, d.object_id as id, d.delete_notified_at
    from {{ ref('stg_webhook_deletes') }} as d
    inner join {{ ref('int_deletable_records') }} as k
        on k.environment = d.environment and k.resource = d.resource and k.id = d.object_id
    left join latest_usable as u
        on u.environment = d.environment and u.resource = d.resource
    where k.updated_at <= d.delete_notified_at
      and (u.started_at is null
           or u.started_at <= {{ dbt.dateadd('hour', var('delete_visibility_lag_hours'),
                                             'd.delete_notified_at') }})
)

select environment, resource, id, 'reconciliation' as deleted_source, deleted_detected_at
from reconciled

union all

select n.environment, n.resource, n.id, 'webhook' as deleted_source,
       n.delete_notified_at as deleted_detected_at
from notified as n
where not exists (
    select 1 from reconciled as r
    where r.environment = n.environment and r.resource = n.resource and r.id = n.id
)
