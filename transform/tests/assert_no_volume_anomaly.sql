-- A resource's daily volume far from its trailing mean (|z| above the threshold): a
-- stalled stream, a lost backfill or a vendor incident. Warns: volume can legitimately
-- move (month end), a human decides.
{{ config(severity='warn', tags=['full_scan']) }}
select environment, resource, day, versions, trailing_mean, trailing_stddev, z_score
from {{ ref('daily_volume') }}
where is_checked
  and abs(z_score) > {{ var('anomaly_z_threshold') }}
