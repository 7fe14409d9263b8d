-- Every raw version of events, typed (one row per environment, id, _pa_version).
{{ staging_versions('events') }}
