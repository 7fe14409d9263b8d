-- Every raw version of plans, typed (one row per environment, id, _pa_version).
{{ config(tags=['daily']) }}
{{ staging_versions('plans') }}
