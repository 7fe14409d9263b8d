-- Payment lifecycle events, current version of each event (events are updated in place).
{{ mart_current('events', history='payment_events_history') }}
