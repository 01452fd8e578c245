-- member_features: each member's visit history as of the session's cip.as_of, in the units
-- the models take. One row per member with at least one visit up to the as-of date.
--
-- Time is counted in business days (business_date: a 01:00 visit belongs to the evening
-- before, per cip.day_cutoff); visits after the as-of business day are ignored. Money is
-- visits.amount, summed per business day (two visits on one night are one visit-day).
--
--   visit_days       distinct business days with a visit
--   frequency        repeat visit-days: visit_days - 1 (BG/NBD's x)
--   recency          days from the first to the last visit-day (BG/NBD's t_x; 0 without repeats)
--   t                days from the first visit-day to the as-of date (BG/NBD's T)
--   recency_days     days since the last visit-day (RFM's R: smaller is better)
--   monetary         mean spend per visit-day, all visits (RFM's M)
--   repeat_monetary  mean spend of the repeat visit-days (Gamma-Gamma's input; NULL without repeats)
--   total_spend      all spend up to the as-of date
--   spend_365d       spend in the 365 days up to the as-of date
--   visits_90d       visit-days in the 90 days up to the as-of date
--   visits_365d      visit-days in the 365 days up to the as-of date (the tier rules' window)
--   mean_gap_days    the member's own rhythm: recency / frequency (NULL without repeats)
--   first_visit, last_visit   business dates
--   source           'visits', or 'member_behavior' (below)
--
-- Fallback: when the visits table is empty (a chain that loaded only the seed's
-- member_behavior table), each member's latest member_behavior row stands in: visit-days =
-- total_spending / avg_spending, first visit = members.registered_at, last visit =
-- last_visit_date, visits_90d = visit_frequency. Recency is kept within [0, t] (and above 0
-- with repeats, as the models require).
CREATE OR REPLACE VIEW member_features AS
WITH days AS (
    SELECT member_id,
           business_date(started_at) AS day,
           sum(amount) AS spend
    FROM visits
    WHERE business_date(started_at) <= cip_as_of()
    GROUP BY member_id, business_date(started_at)
)
-- min_by(spend, day) keeps the spend of each member's first visit-day while aggregating, so
-- no sort of all visit-days is needed (a window over them did not fit the memory pool at
-- millions of members).
SELECT member_id,
       count(*) AS visit_days,
       CAST(count(*) - 1 AS DOUBLE) AS frequency,
       CAST(max(day) - min(day) AS DOUBLE) AS recency,
       CAST(cip_as_of() - min(day) AS DOUBLE) AS t,
       cip_as_of() - max(day) AS recency_days,
       CAST(sum(spend) AS DOUBLE) / count(*) AS monetary,
       CAST(sum(spend) - min_by(spend, day) AS DOUBLE) / nullif(count(*) - 1, 0) AS repeat_monetary,
       CAST(sum(spend) AS DOUBLE) AS total_spend,
       CAST(coalesce(sum(CASE WHEN day > cip_as_of() - INTERVAL '365 days' THEN spend END), 0) AS DOUBLE) AS spend_365d,
       sum(CASE WHEN day > cip_as_of() - INTERVAL '90 days' THEN 1 ELSE 0 END) AS visits_90d,
       sum(CASE WHEN day > cip_as_of() - INTERVAL '365 days' THEN 1 ELSE 0 END) AS visits_365d,
       CAST(max(day) - min(day) AS DOUBLE) / nullif(count(*) - 1, 0) AS mean_gap_days,
       min(day) AS first_visit,
       max(day) AS last_visit,
       'visits' AS source
FROM days
GROUP BY member_id
UNION ALL
SELECT member_id, visit_days, CAST(visit_days - 1 AS DOUBLE) AS frequency,
       CASE WHEN visit_days > 1 THEN greatest(least(recency, t), 1.0) ELSE 0.0 END AS recency,
       t, recency_days, monetary,
       CASE WHEN visit_days > 1 THEN monetary END AS repeat_monetary,
       total_spend, CAST(NULL AS DOUBLE) AS spend_365d, visits_90d, CAST(NULL AS BIGINT) AS visits_365d,
       CASE WHEN visit_days > 1 THEN greatest(least(recency, t), 1.0) / (visit_days - 1) END AS mean_gap_days,
       first_visit, last_visit, 'member_behavior' AS source
FROM (
    SELECT mb.member_id,
           CAST(greatest(round(CAST(mb.total_spending AS DOUBLE) / nullif(CAST(mb.avg_spending AS DOUBLE), 0)), 1) AS BIGINT) AS visit_days,
           CAST(business_date(mb.last_visit_date) - business_date(m.registered_at) AS DOUBLE) AS recency,
           CAST(cip_as_of() - business_date(m.registered_at) AS DOUBLE) AS t,
           cip_as_of() - business_date(mb.last_visit_date) AS recency_days,
           CAST(mb.avg_spending AS DOUBLE) AS monetary,
           CAST(mb.total_spending AS DOUBLE) AS total_spend,
           mb.visit_frequency AS visits_90d,
           business_date(m.registered_at) AS first_visit,
           business_date(mb.last_visit_date) AS last_visit,
           row_number() OVER (PARTITION BY mb.member_id ORDER BY mb.updated_at DESC, mb.id DESC) AS latest
    FROM member_behavior mb
    JOIN members m ON m.member_id = mb.member_id
    WHERE (SELECT count(*) FROM visits) = 0
      AND mb.last_visit_date IS NOT NULL AND m.registered_at IS NOT NULL
      AND business_date(mb.last_visit_date) <= cip_as_of()
      AND business_date(m.registered_at) <= business_date(mb.last_visit_date)
) fallback
WHERE latest = 1;
