-- Every raw version of plans, typed (one row per environment, id, _pa_version).
{{ staging_versions('plans') }}
