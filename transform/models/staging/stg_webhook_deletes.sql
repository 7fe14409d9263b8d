-- Delete notices from webhooks, per (environment, resource, object_id) of the resources the
-- vendor hard-deletes. `delete_notified_at` is the latest notification's created_at (the
-- vendor's clock, comparable with updated_at and snapshot starts); a notice without one
-- cannot be ordered against versions and is left to reconciliation.
select
    environment,
    resource,
    object_id,
    max(created_at) as delete_notified_at,
    max(received_at) as last_received_at,
    count(*) as notifications
from {{ ref('stg_webhook_notifications') }}
where action = 'deleted'
  and resource in ('{{ deletable_resources() | join("', '") }}')
  and object_id is not null
  and created_at is not null
group by environment, resource, object_id
