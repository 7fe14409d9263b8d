-- Every raw version of refunds, typed (one row per environment, id, _pa_version).
{{ staging_versions('refunds') }}
