-- Every raw version of subscriptions, typed (one row per environment, id, _pa_version).
{{ config(tags=['daily']) }}
{{ staging_versions('subscriptions') }}
