-- One row per (environment, transaction_id): the payment's lifecycle state derived from
-- its events. Within an event type only the highest event_version counts (versions are
-- monotonic but may skip numbers, and may arrive in any order); across types the state
-- follows the lifecycle's precedence (a chargeback outcome beats a dispute, which beats a
-- refund, ...), not arrival order.
-- Built from analytics.payment_events (the current version of each event, merged just
-- before): an incremental run recomputes only the transactions with an event merged since
-- its watermark, from those transactions' events - never from all of raw.
{{ config(unique_key=['environment', 'transaction_id']) }}

with
{%- if is_incremental() %}
changed as (
    select distinct environment, transaction_id as key_id
    from {{ ref('payment_events') }}
    where _pa_loaded_at > {{ watermark() }}
),
{%- endif %}

latest_per_type as (
    select
        s.*,
        row_number() over (
            partition by s.environment, s.transaction_id, s.event_type
            order by s.event_version desc, s.updated_at desc, s._pa_version desc
        ) as type_rank
    from {{ ref('payment_events') }} as s
    {{ only_changed('transaction_id') }}
),

per_type as (
    select
        environment,
        transaction_id,
        event_type,
        event_version,
        event_id,
        occurred_at,
        {{ json_str('payload', 'amount') }} as payload_amount,
        {{ json_str('payload', 'currency') }} as payload_currency,
        {{ json_str('payload', 'dispute.status') }} as payload_dispute_status
    from latest_per_type
    where type_rank = 1
),

event_totals as (
    select
        environment,
        transaction_id,
        count(*) as event_count,
        max(_pa_extracted_at) as _pa_extracted_at,
        max(_pa_loaded_at) as _pa_loaded_at,
        max(updated_at) as last_event_updated_at
    from {{ ref('payment_events') }} as s
    {{ only_changed('transaction_id') }}
    group by environment, transaction_id
),

pivoted as (
    select
        environment,
        transaction_id,
        {%- for t in ['AUTHORIZED', 'CAPTURED', 'VOIDED', 'REFUNDED', 'CHARGEBACK_OPENED',
                      'DISPUTE_UPDATED', 'CHARGEBACK_WON', 'CHARGEBACK_LOST'] %}
        max(case when event_type = '{{ t }}' then occurred_at end) as {{ t | lower }}_at,
        max(case when event_type = '{{ t }}' then event_version end) as {{ t | lower }}_version,
        {%- endfor %}
        max(case when event_type = 'AUTHORIZED' then payload_amount end) as authorized_amount,
        max(case when event_type = 'CAPTURED' then payload_amount end) as captured_amount,
        max(case when event_type = 'REFUNDED' then payload_amount end) as refunded_amount,
        max(case when event_type in ('CAPTURED', 'AUTHORIZED') then payload_currency end) as currency,
        max(case when event_type = 'DISPUTE_UPDATED' then payload_dispute_status end) as dispute_status
    from per_type
    group by environment, transaction_id
)

select
    p.environment,
    p.transaction_id,
    case
        when p.chargeback_lost_at is not null then 'chargeback_lost'
        when p.chargeback_won_at is not null then 'chargeback_won'
        when p.chargeback_opened_at is not null or p.dispute_updated_at is not null then 'disputed'
        when p.refunded_at is not null then 'refunded'
        when p.voided_at is not null then 'voided'
        when p.captured_at is not null then 'captured'
        when p.authorized_at is not null then 'authorized'
        else 'unknown'
    end as lifecycle_state,
    p.dispute_status,
    cast(p.authorized_amount as bigint) as authorized_amount,
    cast(p.captured_amount as bigint) as captured_amount,
    cast(p.refunded_amount as bigint) as refunded_amount,
    p.currency,
    {%- for t in ['AUTHORIZED', 'CAPTURED', 'VOIDED', 'REFUNDED', 'CHARGEBACK_OPENED',
                  'DISPUTE_UPDATED', 'CHARGEBACK_WON', 'CHARGEBACK_LOST'] %}
    p.{{ t | lower }}_at,
    p.{{ t | lower }}_version,
    {%- endfor %}
    t.event_count,
    t.last_event_updated_at,
    t._pa_extracted_at,
    t._pa_loaded_at,
    {{ transformed_at() }} as _pa_transformed_at
from pivoted as p
inner join event_totals as t
    on t.environment = p.environment and t.transaction_id = p.transaction_id
