-- Current version of each customers record per (environment, id).
{{ staging_latest('customers') }}
