with source as (

    select * from {{ source('commerce', 'order_items') }}

),

latest_extract as (

    select *
    from source
    qualify row_number() over (
        partition by order_item_id order by _load_date desc, _loaded_at desc
    ) = 1

)

select
    order_item_id,
    order_id,
    sku,
    quantity,
    unit_price,
    discount_amount,
    cast(quantity * unit_price as decimal(12, 2)) as gross_line_amount,
    cast(quantity * unit_price - discount_amount as decimal(12, 2)) as net_line_amount
from latest_extract
