-- member_tiers: each member's tier standing as of cip.as_of, what upgrade_evaluation and
-- tier_review both judge.
--
--   current_tier   the to_tier of the member's latest upgrade_history row (upgrade, downgrade
--                  or manual change alike), else members.tier, else the lowest tier in force
--   tier_since     when it was reached: that row's created_at, else members.registered_at
--   floor_tier     the to_tier of the member's latest 'manual' change (a floor for reviews)
--   spend_12m      visits.amount in the 365 days up to the as-of date
--   visits_12m     visit-days (business days with a visit) in those 365 days
--   frequency, recency, t   member_features' model inputs (for churn risk)
CREATE OR REPLACE VIEW member_tiers AS
WITH history AS (
    SELECT member_id, to_tier, change_type, created_at,
           row_number() OVER (PARTITION BY member_id ORDER BY created_at DESC, id DESC) AS rn,
           row_number() OVER (PARTITION BY member_id, change_type = 'manual' ORDER BY created_at DESC, id DESC) AS rn_kind
    FROM upgrade_history
    WHERE business_date(created_at) <= cip_as_of()
),
latest AS (SELECT member_id, to_tier, created_at FROM history WHERE rn = 1),
manual AS (SELECT member_id, to_tier AS floor_tier FROM history WHERE change_type = 'manual' AND rn_kind = 1)
SELECT m.member_id,
       coalesce(m.status, 'active') AS status,
       coalesce(l.to_tier, m.tier, (SELECT tier FROM tier_rules_in_force ORDER BY rank LIMIT 1)) AS current_tier,
       CASE WHEN l.member_id IS NOT NULL THEN l.created_at ELSE m.registered_at END AS tier_since,
       mf.floor_tier,
       CAST(coalesce(f.spend_365d, 0) AS DECIMAL(12, 2)) AS spend_12m,
       coalesce(f.visits_365d, 0) AS visits_12m,
       f.frequency, f.recency, f.t
FROM members m
LEFT JOIN latest l ON l.member_id = m.member_id
LEFT JOIN manual mf ON mf.member_id = m.member_id
LEFT JOIN member_features f ON f.member_id = m.member_id
WHERE m.registered_at IS NULL OR business_date(m.registered_at) <= cip_as_of();
