-- Every raw version of invoice_items, typed (one row per environment, id, _pa_version).
{{ config(tags=['daily']) }}
{{ staging_versions('invoice_items') }}
