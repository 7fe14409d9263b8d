-- Every raw version of invoices, typed (one row per environment, id, _pa_version).
{{ staging_versions('invoices') }}
