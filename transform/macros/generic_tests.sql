{#- dbt_utils would bring these, but `dbt deps` needs the package hub; they are small. -#}

{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
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
