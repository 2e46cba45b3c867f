with source as (

    select * from {{ source('commerce', 'orders') }}

),

latest_extract as (

    -- An order can be re-extracted on a later day (e.g. after a status change): keep the newest.
    select *
    from source
    qualify row_number() over (partition by order_id order by _load_date desc, _loaded_at desc) = 1

)

select
    order_id,
    customer_id,
    store_id,
    lower(channel) as channel,
    lower(status) as order_status,
    order_ts,
    cast(order_ts as date) as order_date,
    upper(currency) as currency_code,
    lower(payment_method) as payment_method,
    card_number_masked,
    shipping_amount,
    _load_date as extracted_for_date,
    _release_id as loaded_by_release,
    _loaded_at as loaded_at
from latest_extract
