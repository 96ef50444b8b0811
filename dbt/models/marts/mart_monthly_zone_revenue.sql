{#
  Revenue per pickup zone, calendar month and service, the table the course's dashboards
  read. Grouped by the zone's id, not its name: some zones share a name (56 and 57 are both
  "Corona"), and grouping by name would add their revenue together.
  The month is the pickup's: TLC files contain a few trips from other months, which land
  in the month they happened.
#}
with trips as (

    select * from {{ ref('fct_trips') }}

)

select
    pickup_location_id as revenue_location_id,
    pickup_zone as revenue_zone,
    pickup_borough as revenue_borough,
    cast({{ dbt.date_trunc('month', 'pickup_datetime') }} as date) as revenue_month,
    service_type,

    sum(fare_amount) as revenue_monthly_fare,
    sum(extra) as revenue_monthly_extra,
    sum(mta_tax) as revenue_monthly_mta_tax,
    sum(tip_amount) as revenue_monthly_tip_amount,
    sum(tolls_amount) as revenue_monthly_tolls_amount,
    sum(ehail_fee) as revenue_monthly_ehail_fee,
    sum(improvement_surcharge) as revenue_monthly_improvement_surcharge,
    sum(congestion_surcharge) as revenue_monthly_congestion_surcharge,
    sum(total_amount) as revenue_monthly_total_amount,

    count(trip_id) as total_monthly_trips,
    avg(passenger_count) as avg_monthly_passenger_count,
    avg(trip_distance) as avg_monthly_trip_distance
from trips
-- output-column names: both PostgreSQL and BigQuery accept them in GROUP BY
group by
    revenue_location_id,
    revenue_zone,
    revenue_borough,
    revenue_month,
    service_type
