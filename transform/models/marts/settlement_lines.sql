-- The current lines of every payout: those of its highest seq read (a correction replaces
-- the whole drop, so a line absent from it is gone). Rebuilt per payout: delete+insert on
-- (environment, payout_id) replaces every line of a payout that got a new seq (or was read
-- again) since the last build, so vanished lines vanish here too.
{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['environment', 'payout_id']) }}
with changed as (
    select distinct environment, payout_id
    from {{ ref('stg_settlements') }}
    {%- if is_incremental() %}
    -- An empty mart (built before any drop was loaded) has no watermark: read everything.
    where _pa_extracted_at > coalesce((
        select {{ dbt.dateadd('hour', -var('incremental_overlap_hours', 48),
                              'max(_pa_extracted_at)') }}
        from {{ this }}), cast('1900-01-01' as timestamp))
    {%- endif %}
),

latest as (
    select s.environment, s.payout_id, max(s.seq) as seq
    from {{ ref('stg_settlements') }} as s
    inner join changed as c
        on c.environment = s.environment and c.payout_id = s.payout_id
    group by s.environment, s.payout_id
)

select s.*, {{ transformed_at() }} as _pa_transformed_at
from {{ ref('stg_settlements') }} as s
inner join latest as l
    on l.environment = s.environment and l.payout_id = s.payout_id and l.seq = s.seq
