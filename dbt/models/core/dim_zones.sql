{#
  The 265 TLC taxi zones (seed taxi_zone_lookup, public NYC TLC data). Zones 264 and 265
  are TLC's own "Unknown" zones: real trips use them, so they stay.
#}
select
    locationid as location_id,
    borough,
    zone,
    service_zone
from {{ ref('taxi_zone_lookup') }}
