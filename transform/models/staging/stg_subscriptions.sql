-- Current version of each subscriptions record per (environment, id).
{{ staging_latest('subscriptions') }}
