-- upgrade_evaluation: every member against the tier ladder (the seed's evaluateUpgrade), as of
-- cip.as_of. Same rules for everyone: tier_rules_in_force, the version in force on that date.
--
--   current_tier   as in member_tiers: the latest upgrade_history row (upgrade, downgrade or
--                  manual change alike), else members.tier, else the lowest tier
--   next_tier      the tier ranked just above it (NULL at the top)
--   spend_12m, visits_12m   as in member_tiers (the 365 days up to the as-of date)
--   churn_risk     member_churn's (100 x P(no visit in the next cip.churn_horizon_days)), as
--                  in customer_segments; a member the model cannot score yet (no fit) is not
--                  held back by it
--   progress       toward next_tier, 0-100 rounded down to 0.1 (so 100 means met): the
--                  least-advanced criterion, each criterion being
--                  min(100, 100 * value / threshold) for spend and visits, and
--                  100 * max_churn_risk / churn_risk when the churn risk is over its bound.
--                  100 at the top tier; NULL when the current tier is not in the rules.
--   eligible       active member (status NULL counts as active) meeting every criterion of
--                  next_tier
--   target_tier    (eligible members) the highest tier reached by climbing while each tier's
--                  criteria are met:
--                  execute_upgrades() moves an eligible member there in one run, writing one
--                  upgrade_history row (and granting the rewards) per tier climbed
--   missing        what is still needed, in words; NULL when eligible
--   rule_version   the tier_rules version used
CREATE OR REPLACE VIEW upgrade_evaluation AS
WITH rules AS (
    SELECT tier, rank, rank_below, min_spend_12m, min_visits_12m, max_churn_risk, version
    FROM tier_rules_in_force
),
version AS (
    SELECT max(version) AS version FROM rules
),
scored AS (
    SELECT mb.member_id, mb.status, mb.current_tier, mb.spend_12m, mb.visits_12m,
           cur.rank AS current_rank,
           c.churn_risk
    FROM member_tiers mb
    LEFT JOIN member_churn c ON c.member_id = mb.member_id
    LEFT JOIN rules cur ON cur.tier = mb.current_tier
),
-- Each member against every tier above their own, in one pass over the members (at the top
-- there is none: one row without a tier): the next rank, and the first rank whose criteria
-- are not met.
reach AS (
    SELECT s.member_id, s.status, s.current_tier, s.current_rank, s.spend_12m, s.visits_12m,
           s.churn_risk,
           min(r.rank) AS next_rank,
           min(CASE WHEN NOT (s.spend_12m >= coalesce(r.min_spend_12m, 0)
                              AND s.visits_12m >= coalesce(r.min_visits_12m, 0)
                              AND (r.max_churn_risk IS NULL OR s.churn_risk IS NULL
                                   OR s.churn_risk <= r.max_churn_risk))
                    THEN r.rank END) AS blocked_rank
    FROM rules r
    RIGHT JOIN scored s ON r.rank > s.current_rank
    GROUP BY s.member_id, s.status, s.current_tier, s.current_rank, s.spend_12m, s.visits_12m,
             s.churn_risk
),
-- Climbing stops below the first tier not met: the target is the rank just below it (or the
-- top when every tier above is met), if that is above the current rank.
climb AS (
    SELECT c.*,
           CASE WHEN c.next_rank IS NULL THEN NULL
                WHEN c.blocked_rank IS NULL THEN (SELECT max(rank) FROM rules)
                ELSE st.rank_below END AS reach_rank
    FROM reach c
    LEFT JOIN rules st ON st.rank = c.blocked_rank
),
gaps AS (
    SELECT c.member_id, c.status, c.current_tier, c.current_rank, c.spend_12m, c.visits_12m,
           c.churn_risk, nt.tier AS next_tier,
           CASE WHEN c.reach_rank > c.current_rank THEN tt.tier END AS target_tier,
           CASE WHEN coalesce(nt.min_spend_12m, 0) <= 0 THEN 100.0
                ELSE least(100.0, 100.0 * CAST(c.spend_12m AS DOUBLE) / CAST(nt.min_spend_12m AS DOUBLE)) END AS spend_pct,
           CASE WHEN coalesce(nt.min_visits_12m, 0) <= 0 THEN 100.0
                ELSE least(100.0, 100.0 * c.visits_12m / nt.min_visits_12m) END AS visits_pct,
           CASE WHEN nt.max_churn_risk IS NULL OR c.churn_risk IS NULL OR c.churn_risk <= nt.max_churn_risk THEN 100.0
                ELSE 100.0 * nt.max_churn_risk / c.churn_risk END AS churn_pct,
           CASE WHEN c.spend_12m < nt.min_spend_12m
                THEN yuan(nt.min_spend_12m - c.spend_12m) || ' more spend' END AS spend_gap,
           CASE WHEN c.visits_12m < nt.min_visits_12m
                THEN CAST(nt.min_visits_12m - c.visits_12m AS VARCHAR) || ' more visit'
                     || CASE WHEN nt.min_visits_12m - c.visits_12m > 1 THEN 's' ELSE '' END END AS visits_gap,
           CASE WHEN c.churn_risk > nt.max_churn_risk
                THEN 'a churn risk of at most ' || CAST(nt.max_churn_risk AS VARCHAR)
                     || ' (now ' || CAST(round(c.churn_risk, 1) AS VARCHAR) || ')' END AS churn_gap
    FROM climb c
    LEFT JOIN rules nt ON nt.rank = c.next_rank
    LEFT JOIN rules tt ON tt.rank = c.reach_rank
)
SELECT g.member_id,
       g.current_tier,
       g.next_tier,
       CASE WHEN g.current_rank IS NULL THEN NULL
            WHEN g.next_tier IS NULL THEN 100.0
            ELSE floor(10 * least(g.spend_pct, g.visits_pct, g.churn_pct)) / 10 END AS progress,
       g.status = 'active' AND g.target_tier IS NOT NULL AS eligible,
       CASE WHEN v.version IS NULL THEN 'no tier rules are in force on ' || CAST(cip_as_of() AS VARCHAR)
            WHEN g.current_rank IS NULL
                THEN 'tier "' || g.current_tier || '" is not in the tier rules (version ' || CAST(v.version AS VARCHAR) || ')'
            WHEN g.next_tier IS NULL THEN 'already at the top tier'
            WHEN g.status <> 'active' THEN 'member is ' || g.status
            WHEN g.target_tier IS NOT NULL THEN NULL
            ELSE concat_ws('; ',
                     CASE WHEN g.spend_gap IS NOT NULL OR g.visits_gap IS NOT NULL
                          THEN 'needs ' || concat_ws(' and ', g.spend_gap, g.visits_gap)
                               || ' in the 12 months to ' || CAST(cip_as_of() AS VARCHAR) END,
                     CASE WHEN g.churn_gap IS NOT NULL THEN 'needs ' || g.churn_gap END)
       END AS missing,
       CASE WHEN g.status = 'active' THEN g.target_tier END AS target_tier,
       g.spend_12m,
       g.visits_12m,
       round(g.churn_risk, 1) AS churn_risk,
       v.version AS rule_version
FROM version v
CROSS JOIN gaps g;
