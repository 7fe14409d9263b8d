-- Current version of each events record per (environment, id).
{{ config(tags=['daily']) }}
{{ staging_latest('events') }}
