-- Current version of each customers record per (environment, id).
{{ config(tags=['daily']) }}
{{ staging_latest('customers') }}
