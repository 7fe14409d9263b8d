-- Current version of each payments record per (environment, id).
{{ config(tags=['daily']) }}
{{ staging_latest('payments') }}
