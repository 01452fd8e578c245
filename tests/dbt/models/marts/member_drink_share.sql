-- Per member: spend on order lines and the share of it on drinks. dbt creates the indexes on
-- the table it builds before swapping it in (CREATE INDEX IF NOT EXISTS, then renames), and
-- comments on it and its columns from schema.yml (persist_docs: COMMENT ON … IS $dbt…$).
{{ config(
    indexes=[{'columns': ['member_id']}, {'columns': ['spend', 'drink_share'], 'type': 'brin'}],
    persist_docs={'relation': true, 'columns': true},
) }}
select
    member_id,
    count(*) as order_lines,
    sum(amount) as spend,
    sum(case when is_drink then amount else 0 end) / nullif(sum(amount), 0) as drink_share
from {{ ref('stg_order_items') }}
group by member_id
