-- Settlement lines as read from the vendor's drops, typed: every seq of every payout the
-- tap loaded (a correction's seq sits next to the seq it replaces; settlement_lines keeps
-- the highest). Lineage names the exact object and row each line came from.
{%- set columns = ['environment', 'payout_id', 'seq', 'line_id', 'manifest_id', 'settled_date',
                   'drop_created_at', 'file_format', 'transaction_id', 'payment_id', 'type',
                   'gross', 'fee', 'net', 'currency', 'settled_at', 'description',
                   'source_bucket', 'source_key', 'source_version_id', 'source_etag',
                   'source_sha256', 'source_row', 'manifest_key', '_pa_run_id',
                   '_pa_extracted_at'] %}
select
    cast(environment as varchar) as environment,
    cast(payout_id as varchar) as payout_id,
    cast(seq as bigint) as seq,
    cast(line_id as varchar) as line_id,
    cast(manifest_id as varchar) as manifest_id,
    cast(settled_date as date) as settled_date,
    cast(drop_created_at as timestamp) as drop_created_at,
    cast(file_format as varchar) as file_format,
    cast(transaction_id as varchar) as transaction_id,
    cast(payment_id as varchar) as payment_id,
    cast({{ qcol('type') }} as varchar) as line_type,
    cast(gross as bigint) as gross,
    cast(fee as bigint) as fee,
    cast(net as bigint) as net,
    cast(currency as varchar) as currency,
    cast(settled_at as timestamp) as settled_at,
    cast(description as varchar) as description,
    cast(source_bucket as varchar) as source_bucket,
    cast(source_key as varchar) as source_key,
    cast(source_version_id as varchar) as source_version_id,
    cast(source_etag as varchar) as source_etag,
    cast(source_sha256 as varchar) as source_sha256,
    cast(source_row as bigint) as source_row,
    cast(manifest_key as varchar) as manifest_key,
    cast(_pa_run_id as varchar) as _pa_run_id,
    cast(_pa_extracted_at as timestamp) as _pa_extracted_at
from {{ raw_or_empty('settlements', columns) }} as raw_table
