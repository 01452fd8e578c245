-- Order lines with the seed's grouping of categories.
select
    o.visit_id,
    o.member_id,
    o.category,
    g.category_group,
    g.is_drink,
    o.quantity,
    o.amount
from {{ source('cip', 'order_items') }} o
left join {{ ref('category_groups') }} g on g.category = o.category
