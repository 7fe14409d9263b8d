-- Ids deleted at the vendor: missing from the latest usable snapshot (complete and within
-- the mass-delete guard). Detected at the first usable snapshot that missed them.
with usable as (
    select
        environment, resource, snapshot_id, completed_at,
        row_number() over (
            partition by environment, resource order by completed_at desc, snapshot_id desc
        ) as recency
    from {{ ref('int_snapshot_evaluation') }}
    where is_usable
),

missing_in_usable as (
    select m.environment, m.resource, m.id, m.snapshot_id, u.completed_at, u.recency
    from {{ ref('int_snapshot_missing') }} as m
    inner join usable as u
        on u.environment = m.environment and u.resource = m.resource
        and u.snapshot_id = m.snapshot_id
),

current_missing as (
    select environment, resource, id from missing_in_usable where recency = 1
)

select
    m.environment,
    m.resource,
    m.id,
    min(m.completed_at) as deleted_detected_at
from missing_in_usable as m
inner join current_missing as c
    on c.environment = m.environment and c.resource = m.resource and c.id = m.id
group by m.environment, m.resource, m.id
