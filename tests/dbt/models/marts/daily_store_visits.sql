-- Visits and takings per store and day; each run adds the days after the newest one kept.
-- With `--vars '{with_members: true}'` the model gains a column, which dbt adds to the
-- existing table (ALTER TABLE … ADD COLUMN) instead of rebuilding it.
{{ config(materialized='incremental', unique_key=['store_id', 'visit_day'],
          on_schema_change='append_new_columns') }}

select
    store_id,
    cast(date_trunc('day', started_at) as date) as visit_day,
    count(*) as visits,
    sum(amount) as takings
    {% if var('with_members', false) %}, count(distinct member_id) as members{% endif %}
from {{ source('cip', 'visits') }}
{% if is_incremental() %}
where cast(date_trunc('day', started_at) as date) >= (select max(visit_day) from {{ this }})
{% endif %}
group by 1, 2
