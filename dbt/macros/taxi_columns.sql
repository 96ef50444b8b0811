{#
  Small helpers shared by the staging models. Each one renders SQL that PostgreSQL and
  BigQuery both run, built only from dbt's own cross-database macros (no packages, so no
  `dbt deps` and no network when the project is built).
#}

{#
  An integer from whatever the load left: INTEGER, NUMERIC or text such as "1" or "1.0"
  (some TLC months write passenger_count and RatecodeID as "1.0"). Through numeric first,
  because casting "1.0" straight to an integer fails on PostgreSQL.
#}
{% macro to_integer(column) -%}
    {{ dbt.safe_cast(dbt.safe_cast(column, dbt.type_numeric()), dbt.type_int()) }}
{%- endmacro %}

{# Money and distances: exact decimals, never floats, so monthly sums add up to the cent. #}
{% macro to_amount(column) -%}
    {{ dbt.safe_cast(column, dbt.type_numeric()) }}
{%- endmacro %}

{#
  Trip times are New York local time without an offset. PostgreSQL's `timestamp` (without
  time zone) holds that as is. BigQuery's load keeps the course's TIMESTAMP, which labels the
  published digits as UTC; DATETIME (cast in UTC) gives the same digits back without a zone.
#}
{% macro to_local_datetime(column) -%}
    {{ dbt.safe_cast(column, 'datetime' if target.type == 'bigquery' else dbt.type_timestamp()) }}
{%- endmacro %}

{# The TLC data dictionary's payment types; NULL stays NULL (the field is empty in some files). #}
{% macro payment_type_description(payment_type) -%}
    case {{ payment_type }}
        when 1 then 'Credit card'
        when 2 then 'Cash'
        when 3 then 'No charge'
        when 4 then 'Dispute'
        when 5 then 'Unknown'
        when 6 then 'Voided trip'
    end
{%- endmacro %}

{#
  One text key per distinct trip, for deduplication and trip_id. PostgreSQL's unique_row_id is
  the course's md5 over seven fields (fare and distance included), as text. BigQuery's is the
  course's BYTES md5 over five (no fare, no distance): two trips of one vendor with the same
  times and zones but another fare would share it, so fare and distance are added to the key.
#}
{% macro trip_key() -%}
    {%- if target.type == 'bigquery' -%}
    to_hex(md5(concat(to_hex(unique_row_id), '|', coalesce(cast(fare_amount as string), ''), '|',
        coalesce(cast(trip_distance as string), ''))))
    {%- else -%}
    unique_row_id
    {%- endif -%}
{%- endmacro %}
