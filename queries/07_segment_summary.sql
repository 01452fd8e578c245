-- segment_summary: the seed's CustomerSegment, one row per segment (all six, even when
-- empty), as of cip.as_of; `position` is the display order (ORDER BY position).
--   customer_count   active members in the segment
--   share            customer_count / all active members (0-1)
--   avg_spend        mean spend per visit-day of the segment's members with visits
--   avg_p_alive      mean P(alive) (MBG/NBD)
--   total_expected_clv  sum of the members' 12-month expected CLV
CREATE OR REPLACE VIEW segment_summary AS
WITH segments (segment_id, name, description, position) AS (
    VALUES ('vip', 'VIP客户', 'High spend per visit and frequent visits', 1),
           ('loyal', '忠诚客户', 'Frequent visits at ordinary spend', 2),
           ('potential', '潜力客户', 'High spend per visit, infrequent visits', 3),
           ('regular', '普通客户', 'Occasional visits at ordinary spend', 4),
           ('churn_risk', '流失风险客户', 'Was active, now silent well past their own rhythm', 5),
           ('new', '新客户', 'Newly registered or first visit', 6)
),
counts AS (
    SELECT segment_id, count(*) AS customer_count, avg(monetary) AS avg_spend,
           avg(p_alive) AS avg_p_alive, sum(expected_clv) AS total_expected_clv
    FROM customer_segments
    GROUP BY segment_id
),
total AS (SELECT sum(customer_count) AS n FROM counts)
SELECT s.segment_id, s.name, s.description, s.position,
       coalesce(c.customer_count, 0) AS customer_count,
       CAST(coalesce(c.customer_count, 0) AS DOUBLE) / nullif(t.n, 0) AS share,
       c.avg_spend, c.avg_p_alive,
       coalesce(c.total_expected_clv, 0.0) AS total_expected_clv
FROM segments s
LEFT JOIN counts c ON c.segment_id = s.segment_id
CROSS JOIN total t;
