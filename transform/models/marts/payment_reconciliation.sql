-- Settlement lines against payments, one row per (environment, transaction_id) in scope:
--   matched              charge lines settle exactly the payment's amount and currency
--   amount_mismatch      the payment exists, the settled gross (or currency) differs
--   unknown_payment      charge lines for a transaction the API never served
--   not_settled          a succeeded payment with no charge line after settlement_grace_days
--   awaiting_settlement  the same, still within the grace period (not a difference)
-- Only `charge` lines settle a payment; refunds, chargebacks and fee adjustments stay in
-- settlement_lines. Payments created before settlement_expected_from (default: the day
-- before the first settled_date of the environment) are not expected in any file.
-- Vars: settlement_grace_days (3), settlement_as_of (default: now, UTC),
-- settlement_expected_from (a timestamp).
{{ config(materialized='table') }}
{%- set grace = var('settlement_grace_days', 3) | int %}
{%- set as_of = var('settlement_as_of', none) %}
{%- set expected_from = var('settlement_expected_from', none) %}
with charges as (
    select
        environment,
        transaction_id,
        sum(gross) as settled_gross,
        min(currency) as settled_currency,
        count(distinct currency) as settled_currencies,
        count(*) as charge_lines,
        min(payout_id) as payout_id,
        min(settled_at) as settled_at
    from {{ ref('settlement_lines') }}
    where line_type = 'charge'
    group by environment, transaction_id
),

payments as (
    select environment, id as payment_id, transaction_id, amount, currency, status, created_at
    from {{ ref('payments') }}
),

bounds as (
    select
        environment,
        {%- if expected_from %}
        cast('{{ expected_from }}' as timestamp) as expected_from
        {%- else %}
        cast({{ dbt.dateadd('day', -1, 'min(settled_date)') }} as timestamp) as expected_from
        {%- endif %}
    from {{ ref('settlement_lines') }}
    group by environment
),

as_of as (
    select
        {%- if as_of %}
        cast('{{ as_of }}' as timestamp) as as_of
        {%- else %}
        cast({{ dbt.current_timestamp() }} as timestamp) as as_of
        {%- endif %}
),

joined as (
    select
        coalesce(c.environment, p.environment) as environment,
        coalesce(c.transaction_id, p.transaction_id) as transaction_id,
        p.payment_id,
        p.status as payment_status,
        p.amount as payment_amount,
        p.currency as payment_currency,
        p.created_at as payment_created_at,
        c.settled_gross,
        c.settled_currency,
        c.charge_lines,
        c.payout_id,
        c.settled_at,
        case
            when c.transaction_id is null then null
            when p.transaction_id is null then 'unknown_payment'
            when c.settled_gross = p.amount and c.settled_currencies = 1
                and c.settled_currency = p.currency then 'matched'
            else 'amount_mismatch'
        end as settled_category,
        case
            when c.transaction_id is not null then false
            when p.status <> 'succeeded' then false
            else p.created_at >= b.expected_from
        end as expected_unsettled,
        a.as_of
    from charges as c
    full outer join payments as p
        on p.environment = c.environment and p.transaction_id = c.transaction_id
    left join bounds as b
        on b.environment = coalesce(c.environment, p.environment)
    cross join as_of as a
)

select
    environment,
    transaction_id,
    payment_id,
    payment_status,
    payment_amount,
    payment_currency,
    payment_created_at,
    settled_gross,
    settled_currency,
    charge_lines,
    payout_id,
    settled_at,
    settled_gross - payment_amount as amount_difference,
    coalesce(settled_category,
             case when payment_created_at < {{ dbt.dateadd('day', -grace, 'as_of') }}
                  then 'not_settled' else 'awaiting_settlement' end) as category,
    as_of
from joined
where settled_category is not null or expected_unsettled
