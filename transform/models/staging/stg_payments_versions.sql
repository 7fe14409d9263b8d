-- Every raw version of payments, typed (one row per environment, id, _pa_version).
{{ config(tags=['daily']) }}
{{ staging_versions('payments') }}
