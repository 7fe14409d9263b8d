-- One row per page the tap completed (design.md, "Tap output: audit streams").
select
    cast(environment as varchar) as environment,
    cast(stream as varchar) as stream,
    cast(run_id as varchar) as run_id,
    cast(request_id as varchar) as request_id,
    cast(window_start as timestamp) as window_start,
    cast(window_end as timestamp) as window_end,
    cast(page_number as bigint) as page_number,
    cast("cursor" as varchar) as page_cursor,
    cast(next_cursor as varchar) as next_cursor,
    cast(records as bigint) as records,
    cast(first_updated_at as timestamp) as first_updated_at,
    cast(last_updated_at as timestamp) as last_updated_at,
    cast(covered_from as timestamp) as covered_from,
    cast(covered_to as timestamp) as covered_to,
    cast(is_last_page as boolean) as is_last_page,
    cast(completed_at as timestamp) as completed_at
from {{ source('raw', 'coverage_ledger') }}
