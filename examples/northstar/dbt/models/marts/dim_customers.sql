with customers as (

    select * from {{ ref('stg_customers') }}

),

order_stats as (

    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        sum(case when is_revenue then 1 else 0 end) as lifetime_orders,
        sum(case when is_revenue then net_amount else 0 end) as lifetime_net_revenue
    from {{ ref('fct_orders') }}
    group by customer_id

)

select
    customers.customer_id,
    customers.email_masked,
    customers.first_name,
    customers.country_code,
    customers.loyalty_tier,
    customers.marketing_opt_in,
    customers.signup_date,
    order_stats.first_order_date,
    order_stats.last_order_date,
    cast(coalesce(order_stats.lifetime_orders, 0) as integer) as lifetime_orders,
    cast(coalesce(order_stats.lifetime_net_revenue, 0) as decimal(14, 2)) as lifetime_net_revenue,
    customers.customer_updated_at
from customers
left join order_stats
    on customers.customer_id = order_stats.customer_id
