-- invoices, current version per (environment, id).
{{ mart_current('invoices', history='invoices_history') }}
