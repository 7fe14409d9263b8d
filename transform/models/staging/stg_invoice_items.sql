-- Current version of each invoice_items record per (environment, id).
{{ staging_latest('invoice_items') }}
