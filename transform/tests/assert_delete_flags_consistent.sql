-- A deletable mart row is flagged exactly when it names a source and a detection time.
{%- for mart in deletable_resources() %}
select '{{ mart }}' as mart, environment, id, is_deleted, deleted_source, deleted_detected_at
from {{ ref(mart) }}
where is_deleted <> (deleted_source is not null)
   or is_deleted <> (deleted_detected_at is not null)
{{ 'union all' if not loop.last }}
{%- endfor %}
