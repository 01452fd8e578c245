-- Visits and takings per store and day; each run adds the days after the newest one kept.
{{ config(materialized='incremental', unique_key=['store_id', 'visit_day']) }}

select
    store_id,
    cast(date_trunc('day', started_at) as date) as visit_day,
    count(*) as visits,
    sum(amount) as takings
from {{ source('cip', 'visits') }}
{% if is_incremental() %}
where cast(date_trunc('day', started_at) as date) >= (select max(visit_day) from {{ this }})
{% endif %}
group by 1, 2
