-- Current version of each plans record per (environment, id).
{{ config(tags=['daily']) }}
{{ staging_latest('plans') }}
