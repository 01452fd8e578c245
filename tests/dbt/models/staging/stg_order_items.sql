-- Order lines with the seed's grouping of categories. dbt comments on the view and its
-- columns from schema.yml after swapping it in (persist_docs: COMMENT ON VIEW / COLUMN).
{{ config(persist_docs={'relation': true, 'columns': true}) }}
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
