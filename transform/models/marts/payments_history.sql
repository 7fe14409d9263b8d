-- Every observed version of payments with valid_from/valid_to (finance history).
{{ mart_history('payments') }}
