-- member_points: each member's points balance, as of cip.as_of.
--
--   base_points     members.points (the balance the member came with, as loaded)
--   reward_points   the points granted by tier changes: upgrade_history.reward_points up to
--                   the as-of date. They are written in the same row as the upgrade itself,
--                   so a balance can never show an upgrade without its points, or the reverse.
--   points          base_points + reward_points
CREATE OR REPLACE VIEW member_points AS
SELECT m.member_id,
       coalesce(m.points, 0) AS base_points,
       coalesce(h.reward_points, 0) AS reward_points,
       coalesce(m.points, 0) + coalesce(h.reward_points, 0) AS points
FROM members m
LEFT JOIN (
    SELECT member_id, sum(reward_points) AS reward_points
    FROM upgrade_history
    WHERE business_date(created_at) <= cip_as_of()
    GROUP BY member_id
) h ON h.member_id = m.member_id;
