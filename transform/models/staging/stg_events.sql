-- Current version of each events record per (environment, id).
{{ staging_latest('events') }}
