-- Negative stock means a sale was recorded before its receipt: worth a look, not a failed build.
{{ config(severity='warn') }}

select store_id, sku, on_hand_qty, as_of_date
from {{ ref('fct_inventory_positions') }}
where on_hand_qty < 0
