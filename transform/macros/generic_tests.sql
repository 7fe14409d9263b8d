{#- dbt_utils would bring these, but `dbt deps` needs the package hub; they are small. -#}

{#- In `test_scope: delta` (get_where_subquery) the delta's rows only: the merge on the
    unique key keeps a new row from duplicating an old one, and build-full checks every
    row daily. -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }} as t
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- A table's key: `columns` unique together and never null, and the `not_null` columns never
    null - the unique_combination and not_null tests of a model in ONE test node, as
    dbt-constraints' primary_key: on the 5-minute cycle each node costs dbt ~60 ms whatever
    its rows, and the marts' key checks were 35 nodes. A failing row names its check in
    `failure` (`duplicate key`, `null <column>`). -#}
{% test primary_key(model, columns, not_null=[]) %}
with checked as (
    select * from {{ model }} as t
)
select {{ columns | join(', ') }}, 'duplicate key' as failure, count(*) as occurrences
from checked
group by {{ columns | join(', ') }}
having count(*) > 1
{%- for column in columns + not_null %}
union all
select {{ columns | join(', ') }}, 'null {{ column }}' as failure, 1 as occurrences
from checked
where {{ column }} is null
{%- endfor %}
{% endtest %}

{#- Ids only match within one environment (sandbox ids collide with production ids). -#}
{% test relationships_in_environment(model, column_name, to, field) %}
select child.environment, child.{{ column_name }}
from {{ model }} as child
left join {{ to }} as parent
    on parent.environment = child.environment and parent.{{ field }} = child.{{ column_name }}
where child.{{ column_name }} is not null and parent.{{ field }} is null
{% endtest %}

{% test is_empty(model) %}
select * from {{ model }}
{% endtest %}

{#- Data tests scoped like the models (docs/transform.md, "Tests on the cycle and on the
    sweep"). With `test_scope: delta` (the default: the 5-minute job) a test of an
    incremental model reads only the rows that model's latest run merged (its newest
    `_pa_transformed_at`, incremental.sql) - what this cycle changed, however large the
    table or the last load; the daily sweep and the reconciliation run with
    `test_scope: full` and test every row. dbt renders a test's relation through this macro
    (dbt's documented override point for `where`; no alias, as the tests alias their `model`
    themselves). -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- set delta = delta_filter(relation) -%}
    {%- set clauses = [where, delta] | select | list -%}
    {%- if clauses -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ clauses | join(' and ') }})
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#- The delta predicate on `relation` in `test_scope: delta`, else none. Whether the
    relation is an incremental model is read from the manifest, not the warehouse: a test
    costs no introspection query (the cycle runs ~90 of them). -#}
{% macro delta_filter(relation) -%}
    {%- if var('test_scope', 'delta') != 'delta' or not execute
           or relation.identifier is not defined -%}{{ return(none) }}{%- endif -%}
    {%- for node in graph.nodes.values()
            if node.resource_type == 'model' and node.config.materialized == 'incremental'
               and (node.alias or node.name) | lower == relation.identifier | lower
               and node.schema | lower == relation.schema | lower -%}
        {{ return('_pa_transformed_at >= (select max(_pa_transformed_at) from '
                  ~ relation ~ ')') }}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}
