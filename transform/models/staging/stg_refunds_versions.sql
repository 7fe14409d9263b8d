-- Every raw version of refunds, typed (one row per environment, id, _pa_version).
{{ config(tags=['daily']) }}
{{ staging_versions('refunds') }}
