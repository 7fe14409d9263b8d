-- Landed webhook notifications, one row per (environment, notification_id) (the loader
-- upserts on that key; re-reads of the tap's lookback window replace rows). `_pa_raw` is
-- the notification's data.object: for created/updated a full record version.
-- `created_at` is the vendor's clock, `received_at` / `_pa_extracted_at` ours;
-- `_pa_loaded_at` when the row reached raw (incremental models slice on it).
{%- set columns = ['environment', 'notification_id', 'type', 'resource', 'action', 'object_id',
                   'created_at', 'received_at', 'signature_timestamp', 'document_version',
                   'landing_key', 'body_sha256', 'object_conforms', 'object_issue', '_pa_raw',
                   '_pa_version', '_pa_run_id', '_pa_request_id', '_pa_extracted_at',
                   '_sdc_batched_at'] %}
select
    cast(environment as varchar) as environment,
    cast(notification_id as varchar) as notification_id,
    cast({{ qcol('type') }} as varchar) as notification_type,
    cast(resource as varchar) as resource,
    cast(action as varchar) as action,
    cast(object_id as varchar) as object_id,
    cast(created_at as timestamp) as created_at,
    cast(received_at as timestamp) as received_at,
    cast(signature_timestamp as bigint) as signature_timestamp,
    cast(document_version as bigint) as document_version,
    cast(landing_key as varchar) as landing_key,
    cast(body_sha256 as varchar) as body_sha256,
    cast(object_conforms as boolean) as object_conforms,
    cast(object_issue as varchar) as object_issue,
    cast(_pa_raw as {{ json_type_name() }}) as _pa_raw,
    cast(_pa_version as varchar) as _pa_version,
    cast(_pa_run_id as varchar) as _pa_run_id,
    cast(_pa_request_id as varchar) as _pa_request_id,
    cast(_pa_extracted_at as timestamp) as _pa_extracted_at,
    cast(_sdc_batched_at as timestamp) as _pa_loaded_at
from {{ raw_or_empty('webhook_notifications', columns) }} as raw_table
