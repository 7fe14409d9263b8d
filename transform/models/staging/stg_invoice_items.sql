-- Current version of each invoice_items record per (environment, id).
{{ config(tags=['daily']) }}
{{ staging_latest('invoice_items') }}
