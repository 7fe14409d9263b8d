-- Current version of each refunds record per (environment, id).
{{ config(tags=['daily']) }}
{{ staging_latest('refunds') }}
