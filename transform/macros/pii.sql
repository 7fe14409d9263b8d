{#- Salted hash for PII in the marts. The salt comes from PARTNERAPI_PII_SALT; only local
    targets (duckdb, fakesnow) fall back to a fixed development salt, so production hashes
    cannot be reversed with a dictionary built against a known salt. -#}
{% macro pii_salt() -%}
    {%- if target.name == 'snowflake' -%}
        {{- env_var('PARTNERAPI_PII_SALT') -}}
    {%- else -%}
        {{- env_var('PARTNERAPI_PII_SALT', 'partnerapi-dev-salt') -}}
    {%- endif -%}
{%- endmacro %}

{% macro pii_hash(expr) -%}
    case when {{ expr }} is null then null
         else {{ sha256_hex("'" ~ (pii_salt() | replace("'", "''")) ~ "' || lower(trim(" ~ expr ~ "))") }}
    end
{%- endmacro %}
