-- member_scores_live: everything cip knows about each active member as of cip.as_of, one row
-- each: every column of customer_segments_live plus the member's tags, computed now. The table
-- member_scores is its stored snapshot (refresh_member_scores(), `cip score
-- --into-warehouse`, daily by the scheduler) and answers with these rows, computed live, when
-- the snapshot is not of the session's as-of date or its inputs changed since.
--
-- fit_as_of (last) is customer_segments_live's: the day of the fits the figures come from.
--
-- Tags are three text arrays using exactly the fifteen names of the design. Thresholds are
-- in `rules` below.
--
-- behavior_tags
--   high_frequency  f_score >= 4 (visits per month in the top two quintiles)
--   low_frequency   f_score <= 2 (bottom two quintiles)
--   active          a visit in the last active_days (30) days
--   dormant         no visit for more than dormant_days (90) days, or never visited
--   night_visitor   at least night_share (50%) of visits start between 22:00 and 06:00
--   churn_risk      the member is in the churn_risk segment (customer_segments: P(alive) and
--                   their own rhythm), so tag and segment never disagree
-- preference_tags (share of the member's order_items spend, visits up to the as-of date)
--   beer_lover      beer >= 40%
--   wine_lover      wine and spirits together >= 30%
--   package_buyer   room packages >= 40%
--   snack_lover     snacks >= 25%
--                   A member with item spend in these categories but no share past its bound
--                   gets the tag of their own largest of the four, so every member with
--                   items has a preference.
-- value_tags
--   high_value      12-month expected CLV in the top 20% of members with visits
--   medium_value    expected CLV between the 40th and 80th percentile
--   low_value       the bottom 40%, or no visit yet
--   potential       m_score >= 4 and f_score <= 2: spends more per visit than most, visits
--                   less than most
--   responsive      converted at least responsive_rate (30%) of the campaigns that messaged
--                   them (at least one message sent)
CREATE OR REPLACE VIEW member_scores_live AS
WITH rules AS (
    SELECT 30 AS active_days, 90 AS dormant_days, 0.5 AS night_share,
           0.40 AS beer_share, 0.30 AS wine_share, 0.40 AS package_share, 0.25 AS snack_share,
           0.30 AS responsive_rate
),
v AS (
    SELECT visit_id, member_id, started_at
    FROM visits
    WHERE business_date(started_at) <= cip_as_of()
),
night AS (
    SELECT member_id,
           avg(CASE WHEN extract(hour FROM started_at) >= 22 OR extract(hour FROM started_at) < 6
                    THEN 1.0 ELSE 0.0 END) AS night_share
    FROM v
    GROUP BY member_id
),
items AS (
    SELECT oi.member_id,
           CAST(sum(oi.amount) AS DOUBLE) AS spend,
           CAST(sum(CASE WHEN oi.category = 'beer' THEN oi.amount ELSE 0 END) AS DOUBLE) AS beer,
           CAST(sum(CASE WHEN oi.category IN ('wine', 'spirits') THEN oi.amount ELSE 0 END) AS DOUBLE) AS wine,
           CAST(sum(CASE WHEN oi.category = 'package' THEN oi.amount ELSE 0 END) AS DOUBLE) AS package,
           CAST(sum(CASE WHEN oi.category = 'snack' THEN oi.amount ELSE 0 END) AS DOUBLE) AS snack
    FROM order_items oi
    -- The member too: a filter on member_id then reaches the scan of visits as well.
    JOIN v ON v.visit_id = oi.visit_id AND v.member_id = oi.member_id
    GROUP BY oi.member_id
)
SELECT s.member_id, s.segment_id, s.segment_name, s.recency_days, s.frequency, s.monetary,
       s.r_score, s.f_score, s.m_score, s.p_alive, s.churn_risk, s.expected_visits_90d,
       s.expected_clv, s.clv_rank, s.visits_per_month, s.spend_per_month, s.rhythm_days, s.total_spend,
       s.tenure_days, s.reason,
       s.spend_x, s.visits_x, s.spend_month_x, s.silence_rhythms, s.silence_gaps, s.rule_version,
       string_to_array(concat_ws(',',
           CASE WHEN s.f_score >= 4 THEN 'high_frequency' END,
           CASE WHEN s.f_score <= 2 THEN 'low_frequency' END,
           CASE WHEN s.recency_days <= r.active_days THEN 'active' END,
           CASE WHEN s.recency_days IS NULL OR s.recency_days > r.dormant_days THEN 'dormant' END,
           CASE WHEN n.night_share >= r.night_share THEN 'night_visitor' END,
           CASE WHEN s.segment_id = 'churn_risk' THEN 'churn_risk' END), ',') AS behavior_tags,
       string_to_array(CASE
           WHEN i.spend > 0 AND (i.beer >= r.beer_share * i.spend OR i.wine >= r.wine_share * i.spend
                OR i.package >= r.package_share * i.spend OR i.snack >= r.snack_share * i.spend)
           THEN concat_ws(',',
               CASE WHEN i.beer >= r.beer_share * i.spend THEN 'beer_lover' END,
               CASE WHEN i.wine >= r.wine_share * i.spend THEN 'wine_lover' END,
               CASE WHEN i.package >= r.package_share * i.spend THEN 'package_buyer' END,
               CASE WHEN i.snack >= r.snack_share * i.spend THEN 'snack_lover' END)
           -- No share past its bound: the member's own largest of the four.
           WHEN i.beer + i.wine + i.package + i.snack > 0 THEN
               CASE WHEN i.beer >= greatest(i.wine, i.package, i.snack) THEN 'beer_lover'
                    WHEN i.wine >= greatest(i.package, i.snack) THEN 'wine_lover'
                    WHEN i.package >= i.snack THEN 'package_buyer'
                    ELSE 'snack_lover' END
           ELSE '' END, ',') AS preference_tags,
       string_to_array(concat_ws(',',
           CASE WHEN s.clv_rank >= 0.8 THEN 'high_value' END,
           CASE WHEN s.clv_rank >= 0.4 AND s.clv_rank < 0.8 THEN 'medium_value' END,
           CASE WHEN s.clv_rank IS NULL OR s.clv_rank < 0.4 THEN 'low_value' END,
           CASE WHEN s.m_score >= 4 AND s.f_score <= 2 THEN 'potential' END,
           CASE WHEN q.response_rate >= r.responsive_rate THEN 'responsive' END), ',') AS value_tags,
       s.fit_as_of
-- rules (one row) first: a cross join holds its left side in memory.
FROM rules r
CROSS JOIN customer_segments_live s
LEFT JOIN night n ON n.member_id = s.member_id
LEFT JOIN items i ON i.member_id = s.member_id
LEFT JOIN member_response q ON q.member_id = s.member_id;
