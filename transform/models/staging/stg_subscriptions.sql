-- Current version of each subscriptions record per (environment, id).
{{ config(tags=['daily']) }}
{{ staging_latest('subscriptions') }}
