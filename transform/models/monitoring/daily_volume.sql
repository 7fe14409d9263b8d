-- Versions per resource and day of updated_at, with the z-score of each day against its
-- trailing window. Days with no rows count as 0 (the spine is every day any resource had
-- data). The current day is partial and late data keeps arriving for 48 h, so only the
-- days before it are checked (see the anomaly test). Counted from raw's own `updated_at`
-- column (polled versions; no JSON is parsed), and built by the daily jobs only: a daily
-- figure scans every version, which a 5-minute cycle must not (docs/transform.md).
{{ config(tags=['full_scan']) }}
{%- set resources = resource_names() %}
with volumes as (
    {%- for r in resources %}
    select cast(environment as varchar) as environment, '{{ r }}' as resource,
           cast(cast(updated_at as timestamp) as date) as day, count(*) as versions
    from {{ source('raw', r) }}
    group by 1, 3
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

days as (
    select distinct environment, day from volumes
),

spine as (
    select d.environment, r.resource, d.day
    from days as d
    cross join (select distinct resource from volumes) as r
),

filled as (
    select s.environment, s.resource, s.day, coalesce(v.versions, 0) as versions
    from spine as s
    left join volumes as v
        on v.environment = s.environment and v.resource = s.resource and v.day = s.day
),

windowed as (
    select
        f.*,
        max(f.day) over (partition by f.environment) as current_day,
        avg(f.versions) over w as trailing_mean,
        stddev_samp(f.versions) over w as trailing_stddev,
        count(*) over w as trailing_days
    from filled as f
    window w as (
        partition by f.environment, f.resource order by f.day
        rows between {{ var('anomaly_trailing_days') }} preceding and 1 preceding
    )
)

select
    environment,
    resource,
    day,
    versions,
    trailing_mean,
    trailing_stddev,
    trailing_days,
    case when trailing_stddev > 0 then (versions - trailing_mean) / trailing_stddev end as z_score,
    day < current_day
        and day >= {{ dbt.dateadd('day', -1 * var('anomaly_check_days'), 'current_day') }}
        and trailing_days >= {{ var('anomaly_min_history_days') }} as is_checked
from windowed
