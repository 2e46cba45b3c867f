{#- Flag order_size_band (release.yaml feature_flags), dark by default: the contracted column
    order_size_band is null while the flag is off and holds the order's size band once it is on
    (the flag canary compares the table with the flag off and on before prod turns it on). -#}
with orders as (

    select * from {{ ref('stg_orders') }}

),

totals as (

    select * from {{ ref('int_order_totals') }}

)

select
    orders.order_id,
    orders.customer_id,
    orders.store_id,
    orders.channel,
    orders.order_status,
    orders.order_ts,
    orders.order_date,
    orders.payment_method,
    cast(coalesce(totals.item_count, 0) as integer) as item_count,
    cast(coalesce(totals.units, 0) as integer) as units,
    cast(coalesce(totals.gross_amount, 0) as decimal(12, 2)) as gross_amount,
    cast(coalesce(totals.discount_amount, 0) as decimal(12, 2)) as discount_amount,
    cast(orders.shipping_amount as decimal(12, 2)) as shipping_amount,
    cast(
        coalesce(totals.gross_amount, 0)
        - coalesce(totals.discount_amount, 0)
        + orders.shipping_amount
        as decimal(12, 2)
    ) as net_amount,
    orders.order_status not in ('cancelled', 'returned') as is_revenue,
    orders.loaded_by_release,
    orders.loaded_at,
    {% if feature_flag('order_size_band') -%}
    case
        when coalesce(totals.gross_amount, 0) - coalesce(totals.discount_amount, 0)
            + orders.shipping_amount < 50 then 'small'
        when coalesce(totals.gross_amount, 0) - coalesce(totals.discount_amount, 0)
            + orders.shipping_amount < 200 then 'medium'
        else 'large'
    end
    {%- else -%}
    cast(null as varchar)
    {%- endif %} as order_size_band
from orders
left join totals
    on orders.order_id = totals.order_id
