-- Order-level totals from the order lines (orders without lines simply have no row here).
select
    order_id,
    cast(count(*) as integer) as item_count,
    cast(sum(quantity) as integer) as units,
    cast(sum(gross_line_amount) as decimal(12, 2)) as gross_amount,
    cast(sum(discount_amount) as decimal(12, 2)) as discount_amount
from {{ ref('stg_order_items') }}
group by order_id
