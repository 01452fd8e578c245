-- campaign_members: each member's way down a campaign's funnel, as of cip.as_of: one row per
-- (campaign_id, member_id) with tracking events up to that business day.
--
-- A repeated event (same campaign, member and status) counts once: the first one (lowest id)
-- gives its revenue and cost.
--   sent, delivered, opened, clicked, converted   whether the member reached that status
--   responded   opened, clicked or converted
--   revenue     the first conversion's revenue
--   cost        the first event of each status's cost, summed; a conversion without a cost
--               of its own costs the campaign's offer_cost (the offer was redeemed)
--   first_at    the member's first event of the campaign
CREATE OR REPLACE VIEW campaign_members AS
WITH ev AS (
    SELECT campaign_id, member_id, status,
           min_by(revenue, id) AS revenue,
           min_by(cost, id) AS cost,
           min(created_at) AS at
    FROM campaign_tracking
    WHERE business_date(created_at) <= cip_as_of()
    GROUP BY campaign_id, member_id, status
)
SELECT ev.campaign_id, ev.member_id,
       bool_or(ev.status = 'sent') AS sent,
       bool_or(ev.status = 'delivered') AS delivered,
       bool_or(ev.status = 'opened') AS opened,
       bool_or(ev.status = 'clicked') AS clicked,
       bool_or(ev.status = 'converted') AS converted,
       bool_or(ev.status IN ('opened', 'clicked', 'converted')) AS responded,
       CAST(coalesce(sum(CASE WHEN ev.status = 'converted' THEN ev.revenue END), 0) AS DECIMAL(12, 2)) AS revenue,
       CAST(coalesce(sum(CASE WHEN ev.status = 'converted' THEN coalesce(ev.cost, c.offer_cost)
                              ELSE ev.cost END), 0) AS DECIMAL(12, 2)) AS cost,
       min(ev.at) AS first_at
FROM ev
LEFT JOIN campaigns c ON c.campaign_id = ev.campaign_id
GROUP BY ev.campaign_id, ev.member_id;
