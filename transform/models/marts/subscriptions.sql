-- subscriptions, current version per (environment, id).
{{ mart_current('subscriptions', history='subscriptions_history') }}
