-- Current version of each invoices record per (environment, id).
{{ config(tags=['daily']) }}
{{ staging_latest('invoices') }}
