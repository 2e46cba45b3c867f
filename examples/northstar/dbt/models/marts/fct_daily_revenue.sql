-- Finance's daily revenue: cancelled and returned orders are excluded from revenue.
with daily as (

    select
        order_date,
        sum(case when is_revenue then 1 else 0 end) as orders_count,
        count(distinct case when is_revenue then customer_id end) as customers_count,
        sum(case when is_revenue then units else 0 end) as units_sold,
        sum(case when is_revenue then gross_amount else 0 end) as gross_revenue,
        sum(case when is_revenue then discount_amount else 0 end) as discount_total,
        sum(case when is_revenue then shipping_amount else 0 end) as shipping_revenue,
        sum(case when is_revenue then net_amount else 0 end) as net_revenue,
        sum(case when order_status = 'cancelled' then 1 else 0 end) as cancelled_orders,
        sum(case when order_status = 'returned' then 1 else 0 end) as returned_orders
    from {{ ref('fct_orders') }}
    group by order_date

)

select
    order_date,
    cast(orders_count as integer) as orders_count,
    cast(customers_count as integer) as customers_count,
    cast(units_sold as integer) as units_sold,
    cast(gross_revenue as decimal(14, 2)) as gross_revenue,
    cast(discount_total as decimal(14, 2)) as discount_total,
    cast(shipping_revenue as decimal(14, 2)) as shipping_revenue,
    cast(net_revenue as decimal(14, 2)) as net_revenue,
    cast(
        case when orders_count > 0 then net_revenue / orders_count end as decimal(12, 2)
    ) as avg_order_value,
    cast(cancelled_orders as integer) as cancelled_orders,
    cast(returned_orders as integer) as returned_orders
from daily
