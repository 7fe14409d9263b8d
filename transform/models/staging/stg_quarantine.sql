-- Records the tap refused (a documented field missing or renamed, a value of the wrong type,
-- a settlement drop whose files disagree with its manifest) and not resolved yet. Must be
-- empty. A quarantined settlement drop is resolved by the vendor's repair: a higher seq of
-- the same payout, loaded (the contract's batch-export faults); raw.quarantine keeps the row.
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
                                   '_pa_run_id', '_pa_request_id', '_pa_extracted_at',
                                   '_pa_raw']) }} as raw_table
where not (
    raw_table.stream = 'settlements'
    and exists (
        select 1 from {{ ref('stg_settlements') }} as repaired
        where repaired.environment = raw_table.environment
          and repaired.payout_id = {{ json_str('raw_table._pa_raw', 'payout_id') }}
          and repaired.seq > cast({{ json_str('raw_table._pa_raw', 'seq') }} as bigint)
    )
)
