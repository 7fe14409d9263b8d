-- Every observed version of invoices with valid_from/valid_to (finance history).
{{ mart_history('invoices') }}
