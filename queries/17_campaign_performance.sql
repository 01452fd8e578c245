-- campaign_performance: each campaign's results (the seed's trackCampaignPerformance), as of
-- cip.as_of. One row per campaign with variant = 'all', and one per A/B variant.
--
-- Funnel, from campaign_members (repeated events count once):
--   sent .. converted   members who reached that status
--   revenue, cost       summed over those members (cost: every message sent and every offer
--                       redeemed, see campaign_members)
--   roi                 gross ROI: 100 * (revenue - cost) / cost, in %; NULL when nothing was
--                       spent. It counts the revenue of members who would have come anyway.
--   response_rate       100 * members who opened, clicked or converted / sent, in %
--   conversion_rate     100 * converted / sent, in %
--
-- Against the holdout (members of campaign_audience kept out of the messages). The holdout
-- has no tracking events, so both arms are measured on the same outcome: visits in the
-- attribution window [launch, launch + campaigns.attribution_days (default 14)) up to the
-- as-of date. A variant's row compares that variant's treatment members with the whole
-- holdout.
--   *_members            audience members in each arm
--   *_visit_rate         share of the arm's members who visited in the window
--   visit_lift           treatment - holdout visit rate, with a 95% interval
--                        (normal approximation: +/- 1.96 * sqrt(p1(1-p1)/n1 + p0(1-p0)/n0))
--   relative_lift        visit_lift / holdout visit rate, with a 95% interval (delta method)
--   p_value              two-sided z-test of the difference in visit rates
--   *_revenue_per_member mean spend in the window per arm member (visits.amount)
--   revenue_lift         difference of those means, 95% interval (Welch), revenue_p_value
--   incremental_revenue  revenue_lift * treatment members: what the campaign added
--   incremental_roi      100 * (incremental_revenue - cost) / cost, in %, with the 95% interval
--                        of revenue_lift carried through (incremental_roi_low / _high)
--   srm_p_value, srm     sample-ratio mismatch: chi-square (1 d.f.) of the treatment / holdout
--                        counts against campaigns.control_share; srm when p < 0.001 (then the
--                        assignment is broken and the lift is not to be trusted)
CREATE OR REPLACE VIEW campaign_performance AS
WITH funnel AS (
    SELECT cm.campaign_id,
           CASE WHEN grouping(a.variant) = 1 THEN 'all' ELSE coalesce(a.variant, '(none)') END AS variant,
           sum(CASE WHEN cm.sent THEN 1 ELSE 0 END) AS sent,
           sum(CASE WHEN cm.delivered THEN 1 ELSE 0 END) AS delivered,
           sum(CASE WHEN cm.opened THEN 1 ELSE 0 END) AS opened,
           sum(CASE WHEN cm.clicked THEN 1 ELSE 0 END) AS clicked,
           sum(CASE WHEN cm.converted THEN 1 ELSE 0 END) AS converted,
           sum(CASE WHEN cm.responded THEN 1 ELSE 0 END) AS responded,
           CAST(sum(cm.revenue) AS DECIMAL(14, 2)) AS revenue,
           CAST(sum(cm.cost) AS DECIMAL(14, 2)) AS cost
    FROM campaign_members cm
    LEFT JOIN campaign_audience a ON a.campaign_id = cm.campaign_id AND a.member_id = cm.member_id
    GROUP BY GROUPING SETS ((cm.campaign_id), (cm.campaign_id, a.variant))
),
-- the campaigns launched by the as-of date, each with the end of its attribution window
launched AS (
    SELECT campaign_id, created_at,
           created_at + CAST(coalesce(attribution_days, 14) || ' days' AS INTERVAL) AS window_end
    FROM campaigns
    WHERE business_date(created_at) <= cip_as_of()
),
-- Visits are first cut to the span of all windows: two comparisons with constants (each
-- subquery runs once) instead of a probe of the audience's hash table for every visit of
-- the chain's history. The windows themselves are applied by the join.
window_visits AS (
    SELECT member_id, started_at, amount
    FROM visits
    WHERE started_at >= (SELECT min(created_at) FROM launched)
      AND started_at < (SELECT max(window_end) FROM launched)
      AND business_date(started_at) <= cip_as_of()
),
-- count(v.started_at): a matched visit always has one (the window compares it), and the
-- visit ids need not be read.
outcome AS (
    SELECT a.campaign_id, a.member_id, a.arm, a.variant,
           CASE WHEN count(v.started_at) > 0 THEN 1.0 ELSE 0.0 END AS visited,
           CAST(coalesce(sum(v.amount), 0) AS DOUBLE) AS spend
    FROM campaign_audience a
    JOIN launched c ON c.campaign_id = a.campaign_id
    LEFT JOIN window_visits v ON v.member_id = a.member_id
        AND v.started_at >= c.created_at
        AND v.started_at < c.window_end
    GROUP BY a.campaign_id, a.member_id, a.arm, a.variant
),
arms AS (
    SELECT campaign_id,
           grouping(variant) = 1 AS is_all,
           CASE WHEN grouping(variant) = 1 THEN 'all' ELSE coalesce(variant, '(none)') END AS variant,
           sum(CASE WHEN arm = 'treatment' THEN 1 ELSE 0 END) AS n1,
           sum(CASE WHEN arm = 'treatment' THEN visited ELSE 0 END) AS x1,
           sum(CASE WHEN arm = 'treatment' THEN spend ELSE 0 END) AS s1,
           sum(CASE WHEN arm = 'treatment' THEN spend * spend ELSE 0 END) AS ss1,
           sum(CASE WHEN arm = 'holdout' THEN 1 ELSE 0 END) AS n0,
           sum(CASE WHEN arm = 'holdout' THEN visited ELSE 0 END) AS x0,
           sum(CASE WHEN arm = 'holdout' THEN spend ELSE 0 END) AS s0,
           sum(CASE WHEN arm = 'holdout' THEN spend * spend ELSE 0 END) AS ss0
    FROM outcome
    GROUP BY GROUPING SETS ((campaign_id), (campaign_id, variant))
),
-- every row is compared with the campaign's whole holdout (the 'all' row's)
paired AS (
    SELECT campaign_id, variant, n1, x1, s1, ss1,
           max(CASE WHEN is_all THEN n0 END) OVER (PARTITION BY campaign_id) AS n0,
           max(CASE WHEN is_all THEN x0 END) OVER (PARTITION BY campaign_id) AS x0,
           max(CASE WHEN is_all THEN s0 END) OVER (PARTITION BY campaign_id) AS s0,
           max(CASE WHEN is_all THEN ss0 END) OVER (PARTITION BY campaign_id) AS ss0,
           max(CASE WHEN is_all THEN n1 END) OVER (PARTITION BY campaign_id) AS n1_all
    FROM arms
),
rates AS (
    SELECT p.*,
           CAST(x1 AS DOUBLE) / nullif(n1, 0) AS p1,
           CAST(x0 AS DOUBLE) / nullif(n0, 0) AS p0,
           s1 / nullif(n1, 0) AS m1,
           s0 / nullif(n0, 0) AS m0,
           (ss1 - s1 * s1 / nullif(n1, 0)) / nullif(n1 - 1, 0) AS var1,
           (ss0 - s0 * s0 / nullif(n0, 0)) / nullif(n0 - 1, 0) AS var0,
           c.control_share
    FROM paired p
    JOIN campaigns c ON c.campaign_id = p.campaign_id
),
stats AS (
    SELECT r.*,
           p1 - p0 AS visit_lift,
           sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0) AS se_abs,
           (p1 - p0) / nullif(p0, 0) AS relative_lift,
           sqrt(p1 * (1 - p1) / (n1 * p0 * p0) + p1 * p1 * p0 * (1 - p0) / (n0 * p0 * p0 * p0 * p0)) AS se_rel,
           m1 - m0 AS revenue_lift,
           sqrt(var1 / n1 + var0 / n0) AS se_rev,
           CASE WHEN control_share > 0 AND control_share < 1 AND n1_all + n0 > 0 THEN
               (n0 - (n1_all + n0) * control_share) * (n0 - (n1_all + n0) * control_share) / ((n1_all + n0) * control_share)
               + (n1_all - (n1_all + n0) * (1 - control_share)) * (n1_all - (n1_all + n0) * (1 - control_share))
                 / ((n1_all + n0) * (1 - control_share))
           END AS srm_chi2
    FROM rates r
)
SELECT f.campaign_id, f.variant,
       f.sent, f.delivered, f.opened, f.clicked, f.converted,
       f.revenue, f.cost,
       round(100.0 * CAST(f.revenue - f.cost AS DOUBLE) / nullif(CAST(f.cost AS DOUBLE), 0), 2) AS roi,
       round(100.0 * f.responded / nullif(f.sent, 0), 2) AS response_rate,
       round(100.0 * f.converted / nullif(f.sent, 0), 2) AS conversion_rate,
       s.n1 AS treatment_members,
       s.n0 AS holdout_members,
       s.p1 AS treatment_visit_rate,
       s.p0 AS holdout_visit_rate,
       s.visit_lift,
       s.visit_lift - 1.959964 * s.se_abs AS visit_lift_low,
       s.visit_lift + 1.959964 * s.se_abs AS visit_lift_high,
       s.relative_lift,
       s.relative_lift - 1.959964 * s.se_rel AS relative_lift_low,
       s.relative_lift + 1.959964 * s.se_rel AS relative_lift_high,
       2 * (1 - normal_cdf(abs(s.visit_lift) / nullif(s.se_abs, 0))) AS p_value,
       s.m1 AS treatment_revenue_per_member,
       s.m0 AS holdout_revenue_per_member,
       s.revenue_lift,
       s.revenue_lift - 1.959964 * s.se_rev AS revenue_lift_low,
       s.revenue_lift + 1.959964 * s.se_rev AS revenue_lift_high,
       2 * (1 - normal_cdf(abs(s.revenue_lift) / nullif(s.se_rev, 0))) AS revenue_p_value,
       s.revenue_lift * s.n1 AS incremental_revenue,
       round(100.0 * (s.revenue_lift * s.n1 - CAST(f.cost AS DOUBLE)) / nullif(CAST(f.cost AS DOUBLE), 0), 2) AS incremental_roi,
       round(100.0 * ((s.revenue_lift - 1.959964 * s.se_rev) * s.n1 - CAST(f.cost AS DOUBLE)) / nullif(CAST(f.cost AS DOUBLE), 0), 2) AS incremental_roi_low,
       round(100.0 * ((s.revenue_lift + 1.959964 * s.se_rev) * s.n1 - CAST(f.cost AS DOUBLE)) / nullif(CAST(f.cost AS DOUBLE), 0), 2) AS incremental_roi_high,
       2 * (1 - normal_cdf(sqrt(s.srm_chi2))) AS srm_p_value,
       coalesce(2 * (1 - normal_cdf(sqrt(s.srm_chi2))) < 0.001, false) AS srm
FROM funnel f
LEFT JOIN stats s ON s.campaign_id = f.campaign_id AND s.variant = f.variant;
