-- Daily net revenue must equal the sum of the revenue orders of that day, to the cent. Each side
-- keeps its own type (fct_daily_revenue's decimal(14, 2), the engine's sum of NUMBER(12, 2)): a
-- difference of half a cent or more fails, so a sub-cent drift is not rounded away, while an
-- engine that sums NUMBER(12, 2) as a double (the fakesnow emulator) does not fail on the last
-- binary digit.
with from_orders as (

    select order_date, sum(net_amount) as net_revenue
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
where abs(coalesce(daily.net_revenue, 0) - coalesce(from_orders.net_revenue, 0)) >= 0.005
