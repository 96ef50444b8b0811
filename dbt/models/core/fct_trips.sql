{#
  Every valid yellow and green trip, one row each, with pickup and dropoff zone names.
  Left joins: a trip whose zone is missing from the lookup stays in the table (and fails the
  relationships tests) instead of silently disappearing from the revenue.
#}
with trips as (

    select * from {{ ref('stg_green_tripdata') }}
    union all
    select * from {{ ref('stg_yellow_tripdata') }}

),

zones as (

    select * from {{ ref('dim_zones') }}

)

select
    trips.trip_id,
    trips.unique_row_id,
    trips.filename,
    trips.service_type,
    trips.vendor_id,
    trips.rate_code_id,
    trips.pickup_location_id,
    pickup_zone.borough as pickup_borough,
    pickup_zone.zone as pickup_zone,
    trips.dropoff_location_id,
    dropoff_zone.borough as dropoff_borough,
    dropoff_zone.zone as dropoff_zone,
    trips.pickup_datetime,
    trips.dropoff_datetime,
    trips.store_and_fwd_flag,
    trips.passenger_count,
    trips.trip_distance,
    trips.trip_type,
    trips.fare_amount,
    trips.extra,
    trips.mta_tax,
    trips.tip_amount,
    trips.tolls_amount,
    trips.ehail_fee,
    trips.improvement_surcharge,
    trips.total_amount,
    trips.congestion_surcharge,
    trips.payment_type,
    trips.payment_type_description
from trips
left join zones as pickup_zone
    on trips.pickup_location_id = pickup_zone.location_id
left join zones as dropoff_zone
    on trips.dropoff_location_id = dropoff_zone.location_id
