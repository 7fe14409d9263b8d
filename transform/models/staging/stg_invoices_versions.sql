-- Every raw version of invoices, typed (one row per environment, id, _pa_version).
{{ config(tags=['daily']) }}
{{ staging_versions('invoices') }}
