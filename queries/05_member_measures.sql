-- member_measures: one row per active member (status 'active', registered by the as-of
-- date) with their own figures as of cip.as_of, before any comparison with the rest of the
-- population: member_churn's (NULL without a visit), plus
--   tenure_days                      days since registration
--   visits_per_month, spend_per_month visit-days and spend per 30 days since the first visit
--   expected_visits_90d              MBG/NBD expected visit-days in the next 90 days
--   expected_clv                     CLV over clv_months (12): MBG/NBD expected visits x
--                                    Gamma-Gamma expected spend x clv_margin (1.0: revenue
--                                    CLV), discounted by clv_monthly_discount (1%) a month
--   established                      a visitor past the `new` rule's tenure: the members the
--                                    population's medians are taken over
-- Every figure depends on the member's own rows and the day's fits only, so a filter on
-- member_id reaches the scans of visits: one member costs one member.
-- customer_segments_live scores these rows; fit_population fits the population's medians
-- and cut points from them.
CREATE OR REPLACE VIEW member_measures AS
WITH k AS (
    SELECT 12 AS clv_months, 0.01 AS clv_monthly_discount, 1.0 AS clv_margin
),
new_rule AS (
    SELECT coalesce(max(max_tenure_days), 0) AS days
    FROM segment_rules_in_force WHERE segment_id = 'new'
)
SELECT mf.member_id, mf.registered_at,
       cip_as_of() - business_date(mf.registered_at) AS tenure_days,
       mf.visit_days, mf.frequency, mf.recency, mf.t, mf.recency_days, mf.monetary,
       mf.repeat_monetary, mf.total_spend,
       mf.visit_days * 30.0 / greatest(mf.t + 1, 30) AS visits_per_month,
       mf.total_spend * 30.0 / greatest(mf.t + 1, 30) AS spend_per_month,
       mf.p_alive, mf.churn_risk, mf.rhythm_days,
       mbgnbd_expected_visits(90, mf.frequency, mf.recency, mf.t, bg.parameters) AS expected_visits_90d,
       clv(mf.frequency, mf.recency, mf.t, bg.parameters,
           gamma_gamma_expected_spend(mf.frequency, coalesce(mf.repeat_monetary, 0), gg.parameters),
           k.clv_months, k.clv_monthly_discount, k.clv_margin) AS expected_clv,
       mf.visit_days IS NOT NULL AND mf.t >= n.days AS established
-- The members meet their figures before the one-row inputs join them: a hash join holds its
-- build side in memory, and with the fits crossed in first that side carried both fits'
-- parameters on every member's row (1.6 GB at ten million members instead of ~0.2 GB).
-- The one-row inputs come first among the cross joins: a cross join holds its left side.
FROM model_fit('mbgnbd') bg
CROSS JOIN model_fit('gamma_gamma') gg
CROSS JOIN k
CROSS JOIN new_rule n
CROSS JOIN (
    SELECT m.member_id, m.registered_at, f.visit_days, f.frequency, f.recency, f.t,
           f.recency_days, f.monetary, f.repeat_monetary, f.total_spend, f.p_alive,
           f.churn_risk, f.rhythm_days
    FROM members m
    -- member_churn is member_features plus the churn figures: one pass over the visits.
    LEFT JOIN member_churn f ON f.member_id = m.member_id
    WHERE m.status = 'active'
      AND (m.registered_at IS NULL OR business_date(m.registered_at) <= cip_as_of())
) mf;
