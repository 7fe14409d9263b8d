-- subscriptions, current version per (environment, id).
{{ mart_current('subscriptions') }}
