select
    customer_id,
    email_masked,
    first_name,
    upper(country_code) as country_code,
    lower(loyalty_tier) as loyalty_tier,
    marketing_opt_in,
    signup_date,
    updated_at as customer_updated_at,
    _release_id as loaded_by_release
from {{ source('crm', 'customers') }}
