-- refunds, current version per (environment, id).
{{ mart_current('refunds') }}
