-- Daily net revenue must equal the sum of the revenue orders of that day, to the cent (both
-- sides as fct_daily_revenue types it, decimal(14, 2): an engine that sums a NUMBER(12,2) as a
-- double, as the fakesnow emulator does, would otherwise differ in the last binary digit).
with from_orders as (

    select order_date, cast(sum(net_amount) as decimal(14, 2)) as net_revenue
    from {{ ref('fct_orders') }}
    where is_revenue
    group by order_date

)

select
    coalesce(daily.order_date, from_orders.order_date) as order_date,
    daily.net_revenue as reported_net_revenue,
    from_orders.net_revenue as orders_net_revenue
from {{ ref('fct_daily_revenue') }} as daily
full outer join from_orders
    on daily.order_date = from_orders.order_date
where coalesce(daily.net_revenue, 0) <> coalesce(from_orders.net_revenue, 0)
