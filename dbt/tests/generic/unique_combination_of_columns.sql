{#
  The combination of columns is unique (dbt has `unique` for one column only; this is the
  one test the project would otherwise need dbt_utils for, and a package means `dbt deps`).
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {%- set columns = combination_of_columns | join(', ') %}
    select {{ columns }}, count(*) as occurrences
    from {{ model }}
    group by {{ columns }}
    having count(*) > 1
{% endtest %}
