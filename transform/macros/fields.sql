{#- Fields the vendor added after the contract was written (contract: "Schema changes").
    They become columns without a code change: the tap records each undocumented field's
    first appearance and the JSON types of its values in raw.schema_drift (one small row
    per field and run), and every model reads that table when it is compiled - raw itself
    is never rescanned to discover fields. docs/transform.md, "New vendor fields". -#}

{#- Column names a vendor field may not take: keys, lineage and what the marts derive. -#}
{% macro reserved_columns() -%}
    {{ return(['environment', 'is_deleted', 'deleted_detected_at', 'deleted_source',
               'valid_from', 'valid_to', 'is_current', 'version_rank', 'copy_rank',
               'address_country']) }}
{%- endmacro %}

{#- The undocumented top-level fields of a resource, as (name, warehouse type), in order of
    first appearance. The type follows the contract's rule over every JSON type the tap
    saw (contract_type_of_json_types); a drift table written before the tap recorded types
    gives varchar. Nested paths (`address.floor`, `items[].x`) stay inside their JSON
    column; names that are not plain identifiers or that clash with a column the models
    derive stay in `_pa_raw` only (the drift report shows them as not mapped). -#}
{% macro added_fields(resource) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set relation = source('raw', 'schema_drift') -%}
    {%- set found = adapter.get_relation(database=relation.database, schema=relation.schema,
                                         identifier=relation.identifier) -%}
    {%- if found is none -%}{{ return([]) }}{%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(found) | map(attribute='name')
                      | map('lower') | list -%}
    {%- set sql -%}
        select field_path,
               {% if 'json_types' in columns -%}
               {{ contract_type_of_json_types('json_types') }}
               {%- else %}'varchar'{% endif %} as warehouse_type
        from {{ found }}
        where stream = '{{ resource }}'
        group by field_path
        order by min(first_seen_at), field_path
    {%- endset -%}
    {%- set documented = contract_fields(resource) | map(attribute=0) | list -%}
    {%- set added = [] -%}
    {%- for row in run_query(sql).rows -%}
        {%- if is_column_name(row[0]) and row[0] not in documented
               and row[0] not in reserved_columns() and not row[0].endswith('_hash') -%}
            {%- do added.append((row[0], row[1])) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(added) }}
{%- endmacro %}

{% macro is_column_name(field_path) -%}
    {{ return(modules.re.match('^[A-Za-z][A-Za-z0-9_]*$', field_path) is not none
              and not field_path.startswith('_pa_')) }}
{%- endmacro %}

{#- The PII class of every field of a resource, as (name, type, class): documented fields
    carry the contract's class; an added field takes the class configured for it in the
    `pii_classes` var (dbt_project.yml, one line `<resource>.<field>: clear|hashed|dropped`)
    or, until someone classifies it, its resource's default (contract_new_field_class:
    `dropped` where the resource carries PII, `clear` elsewhere). -#}
{% macro classified_fields(resource, added=none) -%}
    {%- set configured = var('pii_classes', {}) or {} -%}
    {%- set documented = contract_fields(resource) | map(attribute=0) | list -%}
    {%- for key, cls in configured.items() -%}
        {%- if cls not in contract_pii_classes() -%}
            {{ exceptions.raise_compiler_error("var pii_classes: " ~ key ~ ": '" ~ cls
               ~ "' is not one of " ~ contract_pii_classes() | join(', ')) }}
        {%- endif -%}
        {%- if key.startswith(resource ~ '.') and key.split('.', 1)[1] in documented -%}
            {{ exceptions.raise_compiler_error("var pii_classes: " ~ key ~ " is a documented"
               ~ " field: its class is in tap_partnerapi/contract.py") }}
        {%- endif -%}
    {%- endfor -%}
    {%- set fields = [] -%}
    {%- for name, type, cls in contract_fields(resource) -%}
        {%- do fields.append((name, type, cls)) -%}
    {%- endfor -%}
    {%- for name, type in (added_fields(resource) if added is none else added) -%}
        {%- do fields.append((name, type, configured.get(resource ~ '.' ~ name,
                                                         contract_new_field_class(resource)))) -%}
    {%- endfor -%}
    {{ return(fields) }}
{%- endmacro %}

{#- A resource's fields as a model over it uses them, read once per model: each read of the
    added fields costs queries on raw.schema_drift, and a mart names its columns in several
    places. `typed`: (name, type) of every field, as staging types them; `classified`:
    (name, type, PII class), as the curated tables carry them. -#}
{% macro resource_fields(resource) -%}
    {%- set added = added_fields(resource) -%}
    {{ return({'resource': resource, 'typed': resource_columns(resource, added),
               'classified': classified_fields(resource, added)}) }}
{%- endmacro %}
