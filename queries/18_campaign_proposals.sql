-- campaign_proposals: the campaign each segment should get (the seed's
-- generatePersonalizedCampaign), as of cip.as_of. One row per (segment, campaign type) of the
-- seed's mapping: discount → regular, coupon → new, gift and upgrade_plan → potential,
-- points_multiplier → vip and loyal, retention → churn_risk.
--
--   offer            written for the segment's taste: its most common preference tag
--                    (member_scores) picks the product (beer_lover → beer, wine_lover → wine &
--                    spirits, package_buyer → room packages, snack_lover → snack platters)
--   audience_size    active members in the segment (customer_segments)
--   reachable        of those, with marketing consent
--   expected_sent    reachable less the default 10% holdout
--   expected_*       expected_sent × the per-message figure, each figure blending the history of
--                    past campaigns of the same segment and type (campaign_performance's 'all'
--                    rows: converted / sent, revenue / sent, cost / sent, and incremental
--                    revenue — revenue_lift × treated members, measured against the holdout —
--                    / sent) with a prior, weighted as if the prior were 200 messages:
--                    (history total + 200 × prior) / (history sent + 200). With no history the
--                    prior alone decides; with thousands of messages, the history does.
--   prior            per type (below): conversion rate, revenue per conversion, offer cost per
--                    conversion, message cost, and incrementality: the share of a converted
--                    member's revenue that the campaign caused (the rest would have come
--                    anyway) — conservative figures for a KTV / bar chain
--   expected_revenue             gross: revenue of converted members, incremental or not
--   expected_incremental_revenue what the campaign is expected to add (vs. the holdout)
--   expected_roi     100 × (expected_incremental_revenue − expected_cost) / expected_cost, in %
--   expected_gross_roi  the same with expected_revenue: what a funnel report would show
--   history_sent     the messages of past campaigns behind the estimate (0: prior only)
--   estimate_basis   'prior' (no history), 'prior and history' (fewer past messages than the
--                    prior's weight of 200) or 'history' (the history weighs more)
--   offer_cost       the prior's cost of one redeemed offer: launch_campaign records it as the
--                    campaign's offer_cost
CREATE OR REPLACE VIEW campaign_proposals AS
WITH mapping (segment_id, campaign_type, title) AS (
    VALUES ('regular', 'discount', 'Weeknight discount'),
           ('new', 'coupon', 'Welcome back coupon'),
           ('potential', 'gift', 'A gift on your next visit'),
           ('potential', 'upgrade_plan', 'Your road to the next tier'),
           ('vip', 'points_multiplier', 'VIP double points'),
           ('loyal', 'points_multiplier', 'Loyalty double points'),
           ('churn_risk', 'retention', 'We miss you')
),
priors (campaign_type, conversion_rate, revenue_per_conversion, offer_cost, message_cost, incrementality) AS (
    VALUES ('discount', 0.08, 450.0, 60.0, 0.05, 0.20),
           ('coupon', 0.12, 380.0, 50.0, 0.05, 0.30),
           ('gift', 0.10, 900.0, 80.0, 0.05, 0.25),
           ('upgrade_plan', 0.06, 1200.0, 100.0, 0.05, 0.20),
           ('points_multiplier', 0.15, 700.0, 35.0, 0.05, 0.15),
           ('retention', 0.05, 400.0, 60.0, 0.05, 0.40)
),
audience AS (
    SELECT s.segment_id,
           count(*) AS audience_size,
           sum(CASE WHEN m.marketing_consent THEN 1 ELSE 0 END) AS reachable
    FROM customer_segments s
    JOIN members m ON m.member_id = s.member_id
    GROUP BY s.segment_id
),
taste AS (
    SELECT segment_id, tag,
           row_number() OVER (PARTITION BY segment_id ORDER BY count(*) DESC, tag) AS rn
    FROM (SELECT segment_id, unnest(preference_tags) AS tag FROM member_scores) t
    GROUP BY segment_id, tag
),
history AS (
    SELECT c.segment_id, c.campaign_type,
           sum(p.sent) AS sent,
           sum(p.converted) AS converted,
           CAST(sum(p.revenue) AS DOUBLE) AS revenue,
           CAST(sum(p.cost) AS DOUBLE) AS cost,
           -- only campaigns with a holdout measure what they added
           sum(CASE WHEN p.revenue_lift IS NOT NULL THEN p.sent ELSE 0 END) AS measured_sent,
           sum(coalesce(p.incremental_revenue, 0)) AS incremental_revenue
    FROM campaign_performance p
    JOIN campaigns c ON c.campaign_id = p.campaign_id
    WHERE p.variant = 'all'
    GROUP BY c.segment_id, c.campaign_type
),
estimate AS (
    SELECT mp.segment_id, mp.campaign_type, mp.title,
           CASE t.tag WHEN 'beer_lover' THEN 'beer' WHEN 'wine_lover' THEN 'wine & spirits'
                      WHEN 'package_buyer' THEN 'room packages' WHEN 'snack_lover' THEN 'snack platters'
                      ELSE 'your next night out' END AS product,
           CASE t.tag WHEN 'beer_lover' THEN 'beer tower' WHEN 'wine_lover' THEN 'bottle of house wine'
                      WHEN 'package_buyer' THEN 'free room hour' ELSE 'fruit platter' END AS gift,
           coalesce(a.audience_size, 0) AS audience_size,
           coalesce(a.reachable, 0) AS reachable,
           CAST(round(coalesce(a.reachable, 0) * 0.9) AS BIGINT) AS expected_sent,
           coalesce(h.sent, 0) AS history_sent,
           CAST(p.offer_cost AS DECIMAL(12, 2)) AS offer_cost,
           (coalesce(h.converted, 0) + 200 * p.conversion_rate) / (coalesce(h.sent, 0) + 200) AS conversion_per_message,
           (coalesce(h.revenue, 0) + 200 * p.conversion_rate * p.revenue_per_conversion) / (coalesce(h.sent, 0) + 200) AS revenue_per_message,
           (coalesce(h.incremental_revenue, 0) + 200 * p.conversion_rate * p.revenue_per_conversion * p.incrementality)
               / (coalesce(h.measured_sent, 0) + 200) AS incremental_per_message,
           (coalesce(h.cost, 0) + 200 * (p.message_cost + p.conversion_rate * p.offer_cost)) / (coalesce(h.sent, 0) + 200) AS cost_per_message
    FROM mapping mp
    JOIN priors p ON p.campaign_type = mp.campaign_type
    LEFT JOIN audience a ON a.segment_id = mp.segment_id
    LEFT JOIN taste t ON t.segment_id = mp.segment_id AND t.rn = 1
    LEFT JOIN history h ON h.segment_id = mp.segment_id AND h.campaign_type = mp.campaign_type
)
SELECT segment_id, campaign_type,
       title || ' (' || segment_id || ')' AS name,
       CASE campaign_type
           WHEN 'discount' THEN '15% off ' || product || ' on weeknights'
           WHEN 'coupon' THEN '¥50 off ' || product || ' on your second visit (bills over ¥300)'
           WHEN 'gift' THEN 'A free ' || gift || ' with your next visit'
           WHEN 'upgrade_plan' THEN 'Double tier progress on ' || product || ' this month'
           WHEN 'points_multiplier' THEN '2x points on ' || product || ', Friday to Sunday'
           WHEN 'retention' THEN 'We miss you: a free room hour and 20% off ' || product
       END AS offer,
       audience_size, reachable, expected_sent,
       round(expected_sent * conversion_per_message, 1) AS expected_conversions,
       CAST(round(expected_sent * cost_per_message, 2) AS DECIMAL(14, 2)) AS expected_cost,
       CAST(round(expected_sent * revenue_per_message, 2) AS DECIMAL(14, 2)) AS expected_revenue,
       round(100.0 * (incremental_per_message - cost_per_message) / cost_per_message, 1) AS expected_roi,
       history_sent,
       offer_cost,
       CAST(round(expected_sent * incremental_per_message, 2) AS DECIMAL(14, 2)) AS expected_incremental_revenue,
       round(100.0 * (revenue_per_message - cost_per_message) / cost_per_message, 1) AS expected_gross_roi,
       CASE WHEN history_sent = 0 THEN 'prior'
            WHEN history_sent < 200 THEN 'prior and history'
            ELSE 'history' END AS estimate_basis
FROM estimate;
