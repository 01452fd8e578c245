{% test one_row_per_store_day(model) %}
-- One row per store and day: the incremental merge must not duplicate a day it re-reads.
select store_id, visit_day
from {{ model }}
group by store_id, visit_day
having count(*) > 1
{% endtest %}
