-- Every observed version of subscriptions with valid_from/valid_to (finance history).
{{ mart_history('subscriptions') }}
