-- payments, current version per (environment, id).
{{ mart_current('payments', history='payments_history') }}
