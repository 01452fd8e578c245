-- tier_review: the retention review (保级), as of cip.as_of. One row per member above the
-- lowest tier of the rules in force; `review_tiers()` moves every member with due = true down
-- one tier, recorded in upgrade_history as a 'downgrade'.
--
--   current_tier, tier_since   as in member_tiers
--   held_days      business days from tier_since to the as-of date
--   keep_days      the tier's retention period: no review before it is over
--   spend_12m, visits_12m   as in member_tiers (365 days up to the as-of date)
--   below_keep     spend_12m < keep_spend_12m or visits_12m < keep_visits_12m (a NULL
--                  threshold is no requirement)
--   floor_tier     member_tiers' floor (latest manual change): never reviewed below it
--   down_to        the tier ranked just below current_tier
--   due            the keep period is over, the member is below a keep threshold, and down_to
--                  is not below the floor
--   reason         why (or why not), in words
CREATE OR REPLACE VIEW tier_review AS
WITH rules AS (
    SELECT tier, rank, rank_below, keep_spend_12m, keep_visits_12m, keep_days
    FROM tier_rules_in_force
),
judged AS (
    SELECT mb.member_id, mb.current_tier, mb.tier_since,
           cip_as_of() - business_date(mb.tier_since) AS held_days,
           cur.keep_days, cur.keep_spend_12m, cur.keep_visits_12m,
           mb.spend_12m, mb.visits_12m,
           mb.spend_12m < coalesce(cur.keep_spend_12m, 0)
               OR mb.visits_12m < coalesce(cur.keep_visits_12m, 0) AS below_keep,
           mb.floor_tier, fl.rank AS floor_rank,
           dn.tier AS down_to, dn.rank AS down_rank
    FROM member_tiers mb
    JOIN rules cur ON cur.tier = mb.current_tier
    JOIN rules dn ON dn.rank = cur.rank_below
    LEFT JOIN rules fl ON fl.tier = mb.floor_tier
)
SELECT member_id, current_tier, tier_since, held_days, keep_days, keep_spend_12m, keep_visits_12m,
       spend_12m, visits_12m, below_keep, floor_tier, down_to,
       coalesce(held_days >= keep_days AND below_keep
                AND (floor_rank IS NULL OR down_rank >= floor_rank), false) AS due,
       CASE WHEN tier_since IS NULL THEN 'not reviewed: when ' || current_tier || ' was reached is unknown'
            WHEN keep_days IS NULL THEN 'not reviewed: ' || current_tier || ' has no retention period'
            WHEN held_days < keep_days
                THEN 'kept: ' || current_tier || ' is held for ' || CAST(keep_days AS VARCHAR)
                     || ' days (' || CAST(held_days AS VARCHAR) || ' so far)'
            WHEN NOT below_keep THEN 'kept: meets the keep threshold of ' || current_tier
            WHEN floor_rank IS NOT NULL AND down_rank < floor_rank
                THEN 'kept: ' || floor_tier || ' was set by hand and is the floor'
            ELSE 'below the keep threshold of ' || current_tier || ' ('
                 || concat_ws(' and ',
                        CASE WHEN spend_12m < keep_spend_12m
                             THEN yuan(spend_12m) || ' of ' || yuan(keep_spend_12m) || ' spend' END,
                        CASE WHEN visits_12m < keep_visits_12m
                             THEN CAST(visits_12m AS VARCHAR) || ' of ' || CAST(keep_visits_12m AS VARCHAR) || ' visits' END)
                 || ' in 12 months): down to ' || down_to
       END AS reason
FROM judged;
