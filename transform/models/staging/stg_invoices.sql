-- Current version of each invoices record per (environment, id).
{{ staging_latest('invoices') }}
