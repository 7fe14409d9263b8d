-- Every observed version of customers with valid_from/valid_to; PII as in customers.
{{ mart_history('customers') }}
