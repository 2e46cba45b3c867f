-- Current stock per store and SKU: the latest snapshot computed by the Spark job.
with positions as (

    select * from {{ ref('stg_inventory_positions') }}

),

latest_snapshot as (

    select max(as_of_date) as as_of_date from positions

)

select
    positions.store_id,
    positions.sku,
    positions.on_hand_qty,
    positions.units_in,
    positions.units_out,
    positions.movement_count,
    positions.last_movement_ts,
    positions.as_of_date,
    positions.on_hand_qty <= 0 as is_out_of_stock
from positions
inner join latest_snapshot
    on positions.as_of_date = latest_snapshot.as_of_date
