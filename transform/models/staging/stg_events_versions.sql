-- Every raw version of events, typed (one row per environment, id, _pa_version).
{{ config(tags=['daily']) }}
{{ staging_versions('events') }}
