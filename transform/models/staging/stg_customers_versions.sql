-- Every raw version of customers, typed (one row per environment, id, _pa_version).
{{ staging_versions('customers') }}
