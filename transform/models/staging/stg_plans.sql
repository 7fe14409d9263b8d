-- Current version of each plans record per (environment, id).
{{ staging_latest('plans') }}
