{#
  Yellow trips, typed and in snake_case, one row per trip.
  Valid rows: a vendor, both timestamps and both zones present (the rows TLC leaves without
  a vendor are the "unknown" rows of the files and carry nothing the marts can use).
  One row per trip (trip_key: unique_row_id, with fare and distance on BigQuery): exact copies inside a month's file are kept by the load flows,
  so that table counts match the course's, and are dropped here.
#}
with source as (

    select * from {{ source('raw', 'yellow_tripdata') }}

),

valid as (

    select
        *,
        row_number() over (partition by {{ trip_key() }} order by filename) as copy_number
    from source
    where vendorid is not null
        and tpep_pickup_datetime is not null
        and tpep_dropoff_datetime is not null
        and pulocationid is not null
        and dolocationid is not null

)

select
    -- identifiers
    {{ dbt.concat(["'yellow-'", trip_key()]) }} as trip_id,
    unique_row_id,
    filename,
    'Yellow' as service_type,
    {{ to_integer('vendorid') }} as vendor_id,
    {{ to_integer('ratecodeid') }} as rate_code_id,
    {{ to_integer('pulocationid') }} as pickup_location_id,
    {{ to_integer('dolocationid') }} as dropoff_location_id,

    -- timestamps (New York local time, as published)
    {{ to_local_datetime('tpep_pickup_datetime') }} as pickup_datetime,
    {{ to_local_datetime('tpep_dropoff_datetime') }} as dropoff_datetime,

    -- trip info
    {{ dbt.safe_cast('store_and_fwd_flag', dbt.type_string()) }} as store_and_fwd_flag,
    {{ to_integer('passenger_count') }} as passenger_count,
    {{ to_amount('trip_distance') }} as trip_distance,
    -- yellow cabs are street-hail only (green's trip_type 1)
    1 as trip_type,

    -- payment info
    {{ to_amount('fare_amount') }} as fare_amount,
    {{ to_amount('extra') }} as extra,
    {{ to_amount('mta_tax') }} as mta_tax,
    {{ to_amount('tip_amount') }} as tip_amount,
    {{ to_amount('tolls_amount') }} as tolls_amount,
    -- e-hail fees exist for green cabs only
    {{ dbt.safe_cast('null', dbt.type_numeric()) }} as ehail_fee,
    {{ to_amount('improvement_surcharge') }} as improvement_surcharge,
    {{ to_amount('total_amount') }} as total_amount,
    {{ to_amount('congestion_surcharge') }} as congestion_surcharge,
    {{ to_integer('payment_type') }} as payment_type,
    {{ payment_type_description(to_integer('payment_type')) }} as payment_type_description

from valid
where copy_number = 1
