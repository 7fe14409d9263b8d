-- Current version of each payments record per (environment, id).
{{ staging_latest('payments') }}
