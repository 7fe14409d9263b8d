-- Stretches of updated_at that no completed page covered, per (environment, stream).
-- Pages are intervals [covered_from, covered_to]; sorted by start, a page that starts
-- after every earlier page ended leaves a gap. Must be empty (test in monitoring.yml).
with pages as (
    select environment, stream, run_id, request_id, covered_from, covered_to
    from {{ ref('stg_coverage_ledger') }}
),

ordered as (
    select
        *,
        max(covered_to) over (
            partition by environment, stream
            order by covered_from, covered_to, run_id, request_id
            rows between unbounded preceding and 1 preceding
        ) as covered_until_before
    from pages
)

select
    environment,
    stream,
    covered_until_before as gap_from,
    covered_from as gap_to,
    run_id as next_run_id,
    request_id as next_request_id
from ordered
where covered_until_before is not null
  and covered_from > covered_until_before
