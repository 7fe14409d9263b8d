-- Records the tap refused (a documented field missing or renamed). Must be empty.
select
    cast(environment as varchar) as environment,
    cast(stream as varchar) as stream,
    cast(record_id as varchar) as record_id,
    cast(updated_at as timestamp) as updated_at,
    cast(reason as varchar) as reason,
    missing_fields,
    unexpected_fields,
    cast(_pa_version as varchar) as _pa_version,
    cast(_pa_run_id as varchar) as _pa_run_id,
    cast(_pa_request_id as varchar) as _pa_request_id,
    cast(_pa_extracted_at as timestamp) as _pa_extracted_at
from {{ raw_or_empty('quarantine', ['environment', 'stream', 'record_id', 'updated_at', 'reason',
                                   'missing_fields', 'unexpected_fields', '_pa_version',
                                   '_pa_run_id', '_pa_request_id', '_pa_extracted_at']) }} as raw_table
