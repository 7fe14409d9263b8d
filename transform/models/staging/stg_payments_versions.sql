-- Every raw version of payments, typed (one row per environment, id, _pa_version).
{{ staging_versions('payments') }}
