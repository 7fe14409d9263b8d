-- Every raw version of subscriptions, typed (one row per environment, id, _pa_version).
{{ staging_versions('subscriptions') }}
