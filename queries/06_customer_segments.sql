-- customer_segments: one row per active member (status 'active', registered by the as-of
-- date), computed as of cip.as_of, with exactly one segment and the reason for it.
--
-- Figures (days are business days; see member_features):
--   recency_days, frequency, monetary   RFM: days since the last visit, repeat visit-days,
--                                       mean spend per visit-day (NULL without visits)
--   r_score, f_score, m_score           1-5 quintiles over members with visits: r by recency
--                                       (5 = most recent), f by visits_per_month, m by
--                                       monetary; ties broken by member_id
--   visits_per_month, spend_per_month   visit-days and spend per 30 days since the first visit
--   p_alive                             MBG/NBD probability the member is still active (fit:
--                                       model_fit('mbgnbd')); churn_risk = 100 * (1 - p_alive)
--   rhythm_days                         the member's own usual gap between visits: the MBG/NBD
--                                       posterior mean gap (alpha + recency) / (r + frequency)
--   expected_visits_90d                 MBG/NBD expected visit-days in the next 90 days
--   clv_rank                            percentile (0-1) of expected_clv among members with visits
--   expected_clv                        CLV over clv_months (12): expected visits x Gamma-Gamma
--                                       expected spend x clv_margin (1.0: revenue CLV),
--                                       discounted by clv_monthly_discount (1%) a month (clv())
--
-- Segments, by precedence (the first rule that holds wins; thresholds in `rules` below):
--   new         no visit yet, or first visit or registration within new_days
--   churn_risk  was active, now likely lapsing: p_alive below churn_p_alive AND silent for
--               more than churn_rhythms of the member's own rhythm AND at least
--               churn_min_days since the last visit
--   vip         spends at least high_spend_per_visit per visit AND comes at least
--               vip_visits_per_month times a month
--   potential   spends at least high_spend_per_visit per visit but comes less often
--   loyal       brings at least loyal_spend_per_month a month
--   regular     everyone else
CREATE OR REPLACE VIEW customer_segments AS
WITH rules AS (
    SELECT 45 AS new_days,
           0.9 AS churn_p_alive,
           3.0 AS churn_rhythms,
           60 AS churn_min_days,
           1000.0 AS high_spend_per_visit,
           1.0 AS vip_visits_per_month,
           350.0 AS loyal_spend_per_month,
           -- expected_clv: horizon, monthly discount rate, and margin (1.0 = revenue CLV)
           12 AS clv_months,
           0.01 AS clv_monthly_discount,
           1.0 AS clv_margin
),
base AS (
    SELECT m.member_id, m.registered_at,
           cip_as_of() - business_date(m.registered_at) AS tenure_days,
           f.visit_days, f.frequency, f.recency, f.t, f.recency_days, f.monetary,
           f.repeat_monetary, f.total_spend,
           f.visit_days * 30.0 / greatest(f.t + 1, 30) AS visits_per_month,
           f.total_spend * 30.0 / greatest(f.t + 1, 30) AS spend_per_month,
           mbgnbd_p_alive(f.frequency, f.recency, f.t, bg.parameters) AS p_alive,
           (bg.parameters['alpha'] + f.recency) / (bg.parameters['r'] + f.frequency) AS rhythm_days,
           mbgnbd_expected_visits(90, f.frequency, f.recency, f.t, bg.parameters) AS expected_visits_90d,
           clv(f.frequency, f.recency, f.t, bg.parameters,
               gamma_gamma_expected_spend(f.frequency, coalesce(f.repeat_monetary, 0), gg.parameters),
               k.clv_months, k.clv_monthly_discount, k.clv_margin) AS expected_clv
    -- The one-row fits come first: a cross join holds its left side in memory.
    FROM model_fit('mbgnbd') bg
    CROSS JOIN model_fit('gamma_gamma') gg
    CROSS JOIN rules k
    CROSS JOIN members m
    LEFT JOIN member_features f ON f.member_id = m.member_id
    WHERE m.status = 'active'
      AND (m.registered_at IS NULL OR business_date(m.registered_at) <= cip_as_of())
),
scored AS (
    SELECT b.*,
           CASE WHEN visit_days IS NOT NULL THEN ntile(5) OVER (PARTITION BY visit_days IS NULL ORDER BY recency_days DESC, member_id) END AS r_score,
           CASE WHEN visit_days IS NOT NULL THEN ntile(5) OVER (PARTITION BY visit_days IS NULL ORDER BY visits_per_month, member_id) END AS f_score,
           CASE WHEN visit_days IS NOT NULL THEN ntile(5) OVER (PARTITION BY visit_days IS NULL ORDER BY monetary, member_id) END AS m_score,
           CASE WHEN visit_days IS NOT NULL THEN percent_rank() OVER (PARTITION BY visit_days IS NULL ORDER BY expected_clv, member_id) END AS clv_rank
    FROM base b
),
segmented AS (
    SELECT s.*,
           CASE
             WHEN visit_days IS NULL OR t < r.new_days OR tenure_days < r.new_days THEN 'new'
             WHEN p_alive < r.churn_p_alive AND recency_days > r.churn_rhythms * rhythm_days
                  AND recency_days >= r.churn_min_days THEN 'churn_risk'
             WHEN monetary >= r.high_spend_per_visit AND visits_per_month >= r.vip_visits_per_month THEN 'vip'
             WHEN monetary >= r.high_spend_per_visit THEN 'potential'
             WHEN spend_per_month >= r.loyal_spend_per_month THEN 'loyal'
             ELSE 'regular'
           END AS segment_id
    FROM rules r CROSS JOIN scored s
)
SELECT member_id,
       segment_id,
       CASE segment_id
         WHEN 'vip' THEN 'VIP客户' WHEN 'loyal' THEN '忠诚客户' WHEN 'potential' THEN '潜力客户'
         WHEN 'regular' THEN '普通客户' WHEN 'churn_risk' THEN '流失风险客户' ELSE '新客户'
       END AS segment_name,
       recency_days, frequency, monetary, r_score, f_score, m_score,
       p_alive, 100.0 * (1.0 - p_alive) AS churn_risk,
       expected_visits_90d, expected_clv,
       clv_rank, visits_per_month, spend_per_month, rhythm_days, total_spend, tenure_days,
       CASE segment_id
         WHEN 'new' THEN CASE WHEN visit_days IS NULL THEN 'registered ' || coalesce(CAST(tenure_days AS VARCHAR), '?') || ' days ago, no visit yet'
                              ELSE 'first visit ' || CAST(CAST(t AS BIGINT) AS VARCHAR) || ' days ago; visit-days so far: ' || CAST(visit_days AS VARCHAR) END
         WHEN 'churn_risk' THEN 'no visit for ' || CAST(recency_days AS VARCHAR) || ' days, ' || CAST(round(recency_days / rhythm_days, 1) AS VARCHAR)
                                || 'x their usual ' || CAST(CAST(round(rhythm_days) AS BIGINT) AS VARCHAR) || '-day rhythm; P(alive) ' || CAST(round(p_alive, 2) AS VARCHAR)
         WHEN 'vip' THEN 'spends ¥' || CAST(CAST(round(monetary) AS BIGINT) AS VARCHAR) || ' per visit and comes ' || CAST(round(visits_per_month, 1) AS VARCHAR) || ' times a month'
         WHEN 'potential' THEN 'spends ¥' || CAST(CAST(round(monetary) AS BIGINT) AS VARCHAR) || ' per visit but comes only ' || CAST(round(visits_per_month, 1) AS VARCHAR) || ' times a month'
         WHEN 'loyal' THEN 'brings ¥' || CAST(CAST(round(spend_per_month) AS BIGINT) AS VARCHAR) || ' a month over ' || CAST(round(visits_per_month, 1) AS VARCHAR) || ' visits'
         ELSE 'brings ¥' || CAST(CAST(round(spend_per_month) AS BIGINT) AS VARCHAR) || ' a month over ' || CAST(round(visits_per_month, 1) AS VARCHAR) || ' visits, ¥' || CAST(CAST(round(monetary) AS BIGINT) AS VARCHAR) || ' per visit'
       END AS reason
FROM segmented;
