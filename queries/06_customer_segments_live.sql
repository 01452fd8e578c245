-- customer_segments_live: one row per active member (status 'active', registered by the
-- as-of date), computed as of cip.as_of, with exactly one segment and the reason for it.
-- customer_segments has these columns and rows: it reads them from the stored snapshot
-- member_scores when that is current for the session, and from this view otherwise
-- (src/scores; README "member_scores").
--
-- Figures (days are business days; see member_features). A member's own figures come from
-- member_measures; the population's (medians, quintile and percentile cut points) from
-- model_fit('population'), fitted once per as-of date (fit_population), so each member is
-- scored alone and a filter on member_id computes one member only.
--   recency_days, frequency, monetary   RFM: days since the last visit, repeat visit-days,
--                                       mean spend per visit-day (NULL without visits)
--   r_score, f_score, m_score           1-5 quintiles among members with visits: r by recency
--                                       (5 = most recent), f by visits_per_month, m by
--                                       monetary (quantile_bucket against the fit's cut
--                                       points: the quintiles of ntile(5) ordered by the
--                                       value then member_id, except that a member equal to
--                                       a cut point takes the higher quintile)
--   visits_per_month, spend_per_month   visit-days and spend per 30 days since the first visit
--   p_alive, churn_risk, rhythm_days    from member_churn (Pareto/NBD): P(still active),
--                                       100 x P(no visit in the next cip.churn_horizon_days),
--                                       the member's own usual gap between visits
--   expected_visits_90d                 MBG/NBD expected visit-days in the next 90 days
--   clv_rank                            percentile (0-1) of expected_clv among members with
--                                       visits (quantile_rank against the fit's 101 cut points)
--   expected_clv                        CLV over clv_months (12): MBG/NBD expected visits x
--                                       Gamma-Gamma expected spend x clv_margin (1.0: revenue
--                                       CLV), discounted by clv_monthly_discount (1%) a month
--   spend_x, visits_x, spend_month_x    monetary, visits_per_month and spend_per_month as
--                                       multiples of the chain's median established member
--                                       (members with visits past the `new` rule's tenure)
--   silence_rhythms, silence_gaps       recency_days over the member's own rhythm and over the
--                                       median member's rhythm
--   rule_version                        the segment_rules version that decided
--   fit_as_of                           the day of the population fit scored against: the
--                                       as-of date, or, for a client of `cip serve` while a
--                                       new day's fits are made in the background, the
--                                       latest earlier day (cip.fit_fallback)
--
-- Segments come from the table segment_rules (the version in force on the as-of date; see
-- src/segments for the defaults and README "Segments"): a member takes the segment of the
-- first rule by precedence whose every non-NULL bound holds. Bounds on money and frequency
-- are multiples of the chain's own medians, so pricing the same chain in another currency
-- leaves every segment unchanged. `reason` names the rule and the figures that decided.
CREATE OR REPLACE VIEW customer_segments_live AS
-- The rules in force as boxes, in precedence order (one row, aggregated once), over the
-- member's point (tenure, spend_x, visits_x, spend_month_x, silence_rhythms, silence_gaps,
-- -p_alive): a member meets a lower bound at or above it and an upper bound below it; a NULL
-- bound always holds, and one whose figure is NULL (no visit yet) never does — except the
-- tenure bound, which a member without a visit meets (their tenure coordinate is -inf);
-- max_p_alive (p_alive at or below it) is the lower bound -max_p_alive on -p_alive.
-- first_box gives each member the first rule that takes them, one row at a time.
WITH rules AS (
    SELECT array_agg(segment_id ORDER BY precedence, segment_id) AS segment_ids,
           array_agg(version ORDER BY precedence, segment_id) AS versions,
           array_agg(make_array(
               CAST(NULL AS DOUBLE), CAST(min_spend_per_visit AS DOUBLE),
               CAST(min_visits_per_month AS DOUBLE), CAST(min_spend_per_month AS DOUBLE),
               CAST(min_silence_rhythms AS DOUBLE), CAST(min_silence_median_gaps AS DOUBLE),
               -CAST(max_p_alive AS DOUBLE)) ORDER BY precedence, segment_id) AS lows,
           array_agg(make_array(
               CAST(max_tenure_days AS DOUBLE), CAST(max_spend_per_visit AS DOUBLE),
               CAST(max_visits_per_month AS DOUBLE), CAST(NULL AS DOUBLE),
               CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE))
               ORDER BY precedence, segment_id) AS highs
    FROM segment_rules_in_force
),
scored AS (
    SELECT b.*, pop.fit_as_of, rules.segment_ids, rules.versions, rules.lows, rules.highs,
           b.monetary / nullif(pop.parameters['med_spend_per_visit'], 0) AS spend_x,
           b.visits_per_month / nullif(pop.parameters['med_visits_per_month'], 0) AS visits_x,
           b.spend_per_month / nullif(pop.parameters['med_spend_per_month'], 0) AS spend_month_x,
           b.recency_days / nullif(b.rhythm_days, 0) AS silence_rhythms,
           b.recency_days / nullif(pop.parameters['med_rhythm_days'], 0) AS silence_gaps,
           CASE WHEN b.visit_days IS NOT NULL THEN quantile_bucket(-b.recency_days, pop.parameters['r_cuts']) END AS r_score,
           CASE WHEN b.visit_days IS NOT NULL THEN quantile_bucket(b.visits_per_month, pop.parameters['f_cuts']) END AS f_score,
           CASE WHEN b.visit_days IS NOT NULL THEN quantile_bucket(b.monetary, pop.parameters['m_cuts']) END AS m_score,
           CASE WHEN b.visit_days IS NOT NULL THEN quantile_rank(b.expected_clv, pop.parameters['clv_cuts']) END AS clv_rank
    -- The one-row fit and rules first: a cross join holds its left side in memory.
    FROM model_fit('population') pop
    CROSS JOIN rules
    CROSS JOIN member_measures b
),
decided AS (
    SELECT s.*,
           first_box(s.lows, s.highs, make_array(
               CASE WHEN s.visit_days IS NULL THEN CAST('-inf' AS DOUBLE)
                    ELSE CAST(least(s.t, s.tenure_days) AS DOUBLE) END,
               s.spend_x, s.visits_x, s.spend_month_x, s.silence_rhythms, s.silence_gaps,
               -s.p_alive)) AS rule_at
    FROM scored s
),
segmented AS (
    -- A member no rule takes (an operator removed the catch-all) is 'regular'.
    SELECT s.*, coalesce(s.segment_ids[s.rule_at], 'regular') AS segment_id,
           s.versions[s.rule_at] AS rule_version
    FROM decided s
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
       s.spend_x, s.visits_x, s.spend_month_x, s.silence_rhythms, s.silence_gaps, s.rule_version,
       s.fit_as_of
FROM segmented s;
