-- tier_rules_in_force: the tier ladder that applies as of cip.as_of — every tier of the
-- highest tier_rules version whose valid_from falls on or before that business day (a rule
-- without valid_from is always valid) — with rank_below, the rank of the tier just below
-- (NULL for the lowest). upgrade_evaluation and tier_review use it, so one version decides
-- for everyone.
CREATE OR REPLACE VIEW tier_rules_in_force AS
WITH ladder AS (
    SELECT r.*
    FROM tier_rules r
    JOIN (
        SELECT max(version) AS version
        FROM tier_rules
        WHERE valid_from IS NULL OR business_date(valid_from) <= cip_as_of()
    ) v ON r.version = v.version
)
SELECT l.*, b.rank_below
FROM ladder l
LEFT JOIN (
    SELECT a.rank, max(c.rank) AS rank_below
    FROM ladder a
    JOIN ladder c ON c.rank < a.rank
    GROUP BY a.rank
) b ON b.rank = l.rank;
