{#
  Every row hash comes from one source file only.

  TLC months contain exact duplicate rows, and the load flows keep them (the course's row
  counts include them), so the same unique_row_id may appear more than once *within* one
  file; the staging models keep one copy. What must never happen is the same trip arriving
  from two files: a TLC month holds its own trips, and the load flows replace a month when
  it is loaded again, so a hash under two filenames means rows were loaded around the flows
  (a manual COPY, a renamed file). Staging would quietly keep one of the copies; this test
  stops the build and names the table instead.
#}
{% test loaded_from_one_file(model, column_name, file_column='filename') %}
    select {{ column_name }}, count(distinct {{ file_column }}) as files
    from {{ model }}
    group by {{ column_name }}
    having count(distinct {{ file_column }}) > 1
{% endtest %}
