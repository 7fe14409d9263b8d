-- Current version of each refunds record per (environment, id).
{{ staging_latest('refunds') }}
