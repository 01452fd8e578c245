-- Per member: spend on order lines and the share of it on drinks.
select
    member_id,
    count(*) as order_lines,
    sum(amount) as spend,
    sum(case when is_drink then amount else 0 end) / nullif(sum(amount), 0) as drink_share
from {{ ref('stg_order_items') }}
group by member_id
