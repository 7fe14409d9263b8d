-- Every raw version of customers, typed (one row per environment, id, _pa_version).
{{ config(tags=['daily']) }}
{{ staging_versions('customers') }}
