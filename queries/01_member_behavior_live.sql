-- member_behavior_live: the seed's member_behavior columns, derived from the raw tables.
--
-- Definitions (one row per member with at least one visit):
--   visit_frequency       visits in the 90 days before today
--   avg_spending          total_spending / all visits
--   last_visit_date       the latest visits.started_at (local time)
--   total_spending        sum of visits.amount, all time
--   favorite_categories   JSON array of the member's top 3 order_items categories by spend
--   preferred_time_slots  JSON array of the slots holding the member's visits, most used
--                         first: evening (18-22h), late_night (22-02h), after_hours (02-06h),
--                         daytime (06-18h)
--   response_rate         members' converted / sent campaign messages (NULL when none sent)
--   churn_risk            0-100; until the models land (issue 4) a rhythm heuristic:
--                         days since the last visit against twice the member's own mean gap
CREATE OR REPLACE VIEW member_behavior_live AS
WITH v AS (
    SELECT member_id,
           count(*) AS visits,
           sum(CASE WHEN started_at >= CAST(current_date AS TIMESTAMP) - INTERVAL '90 days'
                    THEN 1 ELSE 0 END) AS visits_90d,
           sum(amount) AS total_spending,
           min(started_at) AS first_visit,
           max(started_at) AS last_visit
    FROM visits
    GROUP BY member_id
),
cat AS (
    SELECT member_id, category,
           row_number() OVER (PARTITION BY member_id ORDER BY sum(amount) DESC, category) AS rn
    FROM order_items
    GROUP BY member_id, category
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
    FROM visits
    GROUP BY 1, 2
),
slots AS (
    SELECT member_id,
           '[' || string_agg('"' || slot || '"', ',' ORDER BY n DESC, slot) || ']' AS preferred_time_slots
    FROM slot
    GROUP BY member_id
),
resp AS (
    SELECT member_id,
           CAST(count(DISTINCT CASE WHEN status = 'converted' THEN campaign_id END) AS DOUBLE)
             / nullif(count(DISTINCT CASE WHEN status = 'sent' THEN campaign_id END), 0) AS response_rate
    FROM campaign_tracking
    GROUP BY member_id
)
SELECT v.member_id,
       v.visits_90d AS visit_frequency,
       CAST(v.total_spending / v.visits AS DECIMAL(12, 2)) AS avg_spending,
       v.last_visit AS last_visit_date,
       CAST(v.total_spending AS DECIMAL(12, 2)) AS total_spending,
       fav.favorite_categories,
       slots.preferred_time_slots,
       resp.response_rate,
       CASE WHEN v.visits < 2 THEN 50.0
            ELSE least(100.0, 100.0 * (date_part('epoch', CAST(current_date AS TIMESTAMP) - v.last_visit) / 86400.0)
                 / (2.0 * (date_part('epoch', v.last_visit - v.first_visit) / 86400.0 / (v.visits - 1)) + 1.0))
       END AS churn_risk
FROM v
LEFT JOIN fav ON fav.member_id = v.member_id
LEFT JOIN slots ON slots.member_id = v.member_id
LEFT JOIN resp ON resp.member_id = v.member_id;
