-- customer_segments_live: one row per active member (status 'active', registered by the
-- as-of date), computed as of cip.as_of, with exactly one segment and the reason for it.
-- customer_segments has these columns and rows: it reads them from the stored snapshot
-- member_scores when that is current for the session, and from this view otherwise
-- (src/scores; README "member_scores").
--
-- Figures (days are business days; see member_features):
--   recency_days, frequency, monetary   RFM: days since the last visit, repeat visit-days,
--                                       mean spend per visit-day (NULL without visits)
--   r_score, f_score, m_score           1-5 quintiles over members with visits: r by recency
--                                       (5 = most recent), f by visits_per_month, m by
--                                       monetary; ties broken by member_id
--   visits_per_month, spend_per_month   visit-days and spend per 30 days since the first visit
--   p_alive, churn_risk, rhythm_days    from member_churn (Pareto/NBD): P(still active),
--                                       100 x P(no visit in the next cip.churn_horizon_days),
--                                       the member's own usual gap between visits
--   expected_visits_90d                 MBG/NBD expected visit-days in the next 90 days
--   clv_rank                            percentile (0-1) of expected_clv among members with visits
--   expected_clv                        CLV over clv_months (12): MBG/NBD expected visits x
--                                       Gamma-Gamma expected spend x clv_margin (1.0: revenue
--                                       CLV), discounted by clv_monthly_discount (1%) a month
--   spend_x, visits_x, spend_month_x    monetary, visits_per_month and spend_per_month as
--                                       multiples of the chain's median established member
--                                       (members with visits past the `new` rule's tenure)
--   silence_rhythms, silence_gaps       recency_days over the member's own rhythm and over the
--                                       median member's rhythm
--   rule_version                        the segment_rules version that decided
--
-- Segments come from the table segment_rules (the version in force on the as-of date; see
-- src/segments for the defaults and README "Segments"): a member takes the segment of the
-- first rule by precedence whose every non-NULL bound holds. Bounds on money and frequency
-- are multiples of the chain's own medians, so pricing the same chain in another currency
-- leaves every segment unchanged. `reason` names the rule and the figures that decided.
CREATE OR REPLACE VIEW customer_segments_live AS
WITH k AS (
    SELECT 12 AS clv_months, 0.01 AS clv_monthly_discount, 1.0 AS clv_margin
),
rules AS (
    SELECT r.*
    FROM segment_rules r
    JOIN (
        SELECT max(version) AS version
        FROM segment_rules
        WHERE valid_from IS NULL OR business_date(valid_from) <= cip_as_of()
    ) v ON r.version = v.version
),
new_rule AS (
    SELECT coalesce(max(max_tenure_days), 0) AS days FROM rules WHERE segment_id = 'new'
),
base AS (
    SELECT m.member_id, m.registered_at,
           cip_as_of() - business_date(m.registered_at) AS tenure_days,
           f.visit_days, f.frequency, f.recency, f.t, f.recency_days, f.monetary,
           f.repeat_monetary, f.total_spend,
           f.visit_days * 30.0 / greatest(f.t + 1, 30) AS visits_per_month,
           f.total_spend * 30.0 / greatest(f.t + 1, 30) AS spend_per_month,
           f.p_alive, f.churn_risk, f.rhythm_days,
           mbgnbd_expected_visits(90, f.frequency, f.recency, f.t, bg.parameters) AS expected_visits_90d,
           clv(f.frequency, f.recency, f.t, bg.parameters,
               gamma_gamma_expected_spend(f.frequency, coalesce(f.repeat_monetary, 0), gg.parameters),
               k.clv_months, k.clv_monthly_discount, k.clv_margin) AS expected_clv
    -- The one-row fits come first: a cross join holds its left side in memory.
    FROM model_fit('mbgnbd') bg
    CROSS JOIN model_fit('gamma_gamma') gg
    CROSS JOIN k
    CROSS JOIN members m
    -- member_churn is member_features plus the churn figures: one pass over the visits.
    LEFT JOIN member_churn f ON f.member_id = m.member_id
    WHERE m.status = 'active'
      AND (m.registered_at IS NULL OR business_date(m.registered_at) <= cip_as_of())
),
-- The chain's median established member, as windows over the whole base (a separate
-- aggregate would compute the base a second time).
medians AS (
    SELECT b.*,
           median(CASE WHEN b.visit_days IS NOT NULL AND b.t >= n.days THEN b.monetary END) OVER () AS med_spend_per_visit,
           median(CASE WHEN b.visit_days IS NOT NULL AND b.t >= n.days THEN b.visits_per_month END) OVER () AS med_visits_per_month,
           median(CASE WHEN b.visit_days IS NOT NULL AND b.t >= n.days THEN b.spend_per_month END) OVER () AS med_spend_per_month,
           median(CASE WHEN b.visit_days IS NOT NULL AND b.t >= n.days THEN b.rhythm_days END) OVER () AS med_rhythm_days
    FROM new_rule n CROSS JOIN base b
),
scored AS (
    SELECT b.*,
           b.monetary / nullif(b.med_spend_per_visit, 0) AS spend_x,
           b.visits_per_month / nullif(b.med_visits_per_month, 0) AS visits_x,
           b.spend_per_month / nullif(b.med_spend_per_month, 0) AS spend_month_x,
           b.recency_days / nullif(b.rhythm_days, 0) AS silence_rhythms,
           b.recency_days / nullif(b.med_rhythm_days, 0) AS silence_gaps,
           CASE WHEN visit_days IS NOT NULL THEN ntile(5) OVER (PARTITION BY visit_days IS NULL ORDER BY recency_days DESC, member_id) END AS r_score,
           CASE WHEN visit_days IS NOT NULL THEN ntile(5) OVER (PARTITION BY visit_days IS NULL ORDER BY visits_per_month, member_id) END AS f_score,
           CASE WHEN visit_days IS NOT NULL THEN ntile(5) OVER (PARTITION BY visit_days IS NULL ORDER BY monetary, member_id) END AS m_score,
           CASE WHEN visit_days IS NOT NULL THEN percent_rank() OVER (PARTITION BY visit_days IS NULL ORDER BY expected_clv, member_id) END AS clv_rank
    FROM medians b
),
-- Each member against every rule in force; a bound that is NULL always holds, one whose
-- figure is NULL (no visit yet) never does, except the tenure bound, which a member without
-- a visit meets.
decided AS (
    SELECT s.member_id,
           first_value(r.segment_id ORDER BY r.precedence, r.segment_id) AS segment_id,
           first_value(r.version ORDER BY r.precedence, r.segment_id) AS rule_version
    FROM rules r
    CROSS JOIN scored s
    WHERE (r.max_tenure_days IS NULL OR s.visit_days IS NULL OR s.t < r.max_tenure_days
           OR s.tenure_days < r.max_tenure_days)
      AND coalesce(r.min_spend_per_visit IS NULL OR s.spend_x >= r.min_spend_per_visit, false)
      AND coalesce(r.max_spend_per_visit IS NULL OR s.spend_x < r.max_spend_per_visit, false)
      AND coalesce(r.min_visits_per_month IS NULL OR s.visits_x >= r.min_visits_per_month, false)
      AND coalesce(r.max_visits_per_month IS NULL OR s.visits_x < r.max_visits_per_month, false)
      AND coalesce(r.min_spend_per_month IS NULL OR s.spend_month_x >= r.min_spend_per_month, false)
      AND coalesce(r.min_silence_rhythms IS NULL OR s.silence_rhythms >= r.min_silence_rhythms, false)
      AND coalesce(r.min_silence_median_gaps IS NULL OR s.silence_gaps >= r.min_silence_median_gaps, false)
      AND coalesce(r.max_p_alive IS NULL OR s.p_alive <= r.max_p_alive, false)
    GROUP BY s.member_id
),
segmented AS (
    -- A member no rule takes (an operator removed the catch-all) is 'regular'.
    SELECT s.*, coalesce(d.segment_id, 'regular') AS segment_id, d.rule_version
    FROM scored s LEFT JOIN decided d ON d.member_id = s.member_id
)
SELECT s.member_id,
       s.segment_id,
       CASE s.segment_id
         WHEN 'vip' THEN 'VIP客户' WHEN 'loyal' THEN '忠诚客户' WHEN 'potential' THEN '潜力客户'
         WHEN 'regular' THEN '普通客户' WHEN 'churn_risk' THEN '流失风险客户' ELSE '新客户'
       END AS segment_name,
       s.recency_days, s.frequency, s.monetary, s.r_score, s.f_score, s.m_score,
       s.p_alive, s.churn_risk,
       s.expected_visits_90d, s.expected_clv,
       s.clv_rank, s.visits_per_month, s.spend_per_month, s.rhythm_days, s.total_spend, s.tenure_days,
       'segment_rules ' || s.segment_id || ' v' || coalesce(CAST(s.rule_version AS VARCHAR), '?') || ': '
       || CASE WHEN s.visit_days IS NULL
               THEN 'registered ' || coalesce(CAST(s.tenure_days AS VARCHAR), '?') || ' days ago, no visit yet'
               WHEN s.segment_id = 'new'
               THEN 'first visit ' || CAST(CAST(s.t AS BIGINT) AS VARCHAR) || ' days ago, registered '
                    || coalesce(CAST(s.tenure_days AS VARCHAR), '?') || ' days ago; visit-days so far: ' || CAST(s.visit_days AS VARCHAR)
               WHEN s.segment_id = 'churn_risk'
               THEN 'no visit for ' || CAST(s.recency_days AS VARCHAR) || ' days, '
                    || CAST(round(s.silence_rhythms, 1) AS VARCHAR) || 'x their usual '
                    || CAST(CAST(round(s.rhythm_days) AS BIGINT) AS VARCHAR) || '-day rhythm ('
                    || CAST(round(s.silence_gaps, 1) AS VARCHAR) || 'x the median member''s); P(alive) '
                    || CAST(round(s.p_alive, 2) AS VARCHAR)
               ELSE 'spends ' || CAST(round(s.monetary, 2) AS VARCHAR) || ' per visit ('
                    || CAST(round(s.spend_x, 2) AS VARCHAR) || 'x the median), comes '
                    || CAST(round(s.visits_per_month, 2) AS VARCHAR) || ' times a month ('
                    || CAST(round(s.visits_x, 2) AS VARCHAR) || 'x), brings '
                    || CAST(round(s.spend_per_month, 2) AS VARCHAR) || ' a month ('
                    || CAST(round(s.spend_month_x, 2) AS VARCHAR) || 'x)'
          END AS reason,
       s.spend_x, s.visits_x, s.spend_month_x, s.silence_rhythms, s.silence_gaps, s.rule_version
FROM segmented s;
