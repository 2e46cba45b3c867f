select
    cast(as_of as date) as as_of_date,
    store_id,
    sku,
    cast(on_hand_qty as bigint) as on_hand_qty,
    cast(units_in as bigint) as units_in,
    cast(units_out as bigint) as units_out,
    cast(movement_count as bigint) as movement_count,
    cast(last_movement_ts as timestamp) as last_movement_ts,
    _release_id as computed_by_release
from {{ source('lake', 'inventory_positions') }}
