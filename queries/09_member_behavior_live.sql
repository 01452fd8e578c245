-- member_behavior_live: the seed's member_behavior columns, derived from the raw tables.
--
-- Computed as of cip.as_of: visits after that business day (business_date, cip.day_cutoff)
-- and campaign events after it are ignored.
--
-- Definitions (one row per member with at least one visit up to the as-of date):
--   visit_frequency       visits in the 90 days up to the as-of date
--   avg_spending          total_spending / visits
--   last_visit_date       the latest visits.started_at (local time)
--   total_spending        sum of visits.amount up to the as-of date
--   favorite_categories   JSON array of the member's top 3 order_items categories by spend
--   preferred_time_slots  JSON array of the slots holding the member's visits, most used
--                         first: evening (18-22h), late_night (22-02h), after_hours (02-06h),
--                         daytime (06-18h)
--   response_rate         members' converted / sent campaign messages (NULL when none sent)
--   churn_risk            member_churn's: 100 x Pareto/NBD P(no visit in the next
--                         cip.churn_horizon_days), the same figure customer_segments reports
--
-- refresh_member_behavior() rewrites the member_behavior table from this view.
CREATE OR REPLACE VIEW member_behavior_live AS
WITH asof AS (
    SELECT visit_id, member_id, started_at, amount, business_date(started_at) AS day
    FROM visits
    WHERE business_date(started_at) <= cip_as_of()
),
v AS (
    SELECT member_id,
           count(*) AS visits,
           sum(CASE WHEN day > cip_as_of() - INTERVAL '90 days' THEN 1 ELSE 0 END) AS visits_90d,
           sum(amount) AS total_spending,
           max(started_at) AS last_visit
    FROM asof
    GROUP BY member_id
),
cat AS (
    SELECT oi.member_id, oi.category,
           row_number() OVER (PARTITION BY oi.member_id ORDER BY sum(oi.amount) DESC, oi.category) AS rn
    FROM order_items oi
    JOIN asof ON asof.visit_id = oi.visit_id
    GROUP BY oi.member_id, oi.category
),
fav AS (
    SELECT member_id,
           '[' || string_agg('"' || category || '"', ',' ORDER BY rn) || ']' AS favorite_categories
    FROM cat WHERE rn <= 3
    GROUP BY member_id
),
slot AS (
    SELECT member_id,
           CASE WHEN extract(hour FROM started_at) >= 18 AND extract(hour FROM started_at) < 22 THEN 'evening'
                WHEN extract(hour FROM started_at) >= 22 OR extract(hour FROM started_at) < 2 THEN 'late_night'
                WHEN extract(hour FROM started_at) < 6 THEN 'after_hours'
                ELSE 'daytime' END AS slot,
           count(*) AS n
    FROM asof
    GROUP BY 1, 2
),
slots AS (
    SELECT member_id,
           '[' || string_agg('"' || slot || '"', ',' ORDER BY n DESC, slot) || ']' AS preferred_time_slots
    FROM slot
    GROUP BY member_id
),
churn AS (
    SELECT member_id, churn_risk FROM member_churn
)
SELECT v.member_id,
       v.visits_90d AS visit_frequency,
       CAST(v.total_spending / v.visits AS DECIMAL(12, 2)) AS avg_spending,
       v.last_visit AS last_visit_date,
       CAST(v.total_spending AS DECIMAL(12, 2)) AS total_spending,
       fav.favorite_categories,
       slots.preferred_time_slots,
       resp.response_rate,
       churn.churn_risk
FROM v
LEFT JOIN fav ON fav.member_id = v.member_id
LEFT JOIN slots ON slots.member_id = v.member_id
LEFT JOIN member_response resp ON resp.member_id = v.member_id
LEFT JOIN churn ON churn.member_id = v.member_id;
