-- fit_population: what customer_segments_live compares each member with, fitted over the
-- population once per as-of date like the models. Views do not call this directly:
-- model_fit('population') returns the stored fit for the session's as-of date (table
-- model_fits) and runs this view once when there is none. Scoring a member against stored
-- figures needs no window over everyone, so one member is scored (or rescored after a
-- visit) alone, and gets the same figures as in a scoring of all.
--
--   med_spend_per_visit, med_visits_per_month, med_spend_per_month, med_rhythm_days
--            medians over established members (member_measures.established)
--   r_cuts, f_cuts, m_cuts
--            quintile cut points among members with visits, of -recency_days (so that higher
--            is better, as for the others), visits_per_month and monetary: the first value
--            of quintiles 2 to 5 with members ordered by the value, then member_id, and cut
--            as ntile(5) cuts (the first n % 5 quintiles one member larger); NULL where a
--            quintile is empty (fewer than five members)
--   clv_cuts expected_clv at percent ranks 0, 0.01, ..., 1 among members with visits (101
--            values; NULL when no member has one)
--   n        members with visits; no row is stored without one
CREATE OR REPLACE VIEW fit_population AS
WITH v AS (
    SELECT array_agg(-CAST(recency_days AS DOUBLE) ORDER BY recency_days DESC, member_id) AS r,
           array_agg(visits_per_month ORDER BY visits_per_month, member_id) AS f,
           array_agg(monetary ORDER BY monetary, member_id) AS m,
           array_agg(expected_clv ORDER BY expected_clv, member_id) FILTER (WHERE expected_clv IS NOT NULL) AS c,
           count(*) AS n,
           count(expected_clv) AS nc,
           median(CASE WHEN established THEN monetary END) AS med_spend_per_visit,
           median(CASE WHEN established THEN visits_per_month END) AS med_visits_per_month,
           median(CASE WHEN established THEN spend_per_month END) AS med_spend_per_month,
           median(CASE WHEN established THEN rhythm_days END) AS med_rhythm_days
    FROM member_measures
    WHERE visit_days IS NOT NULL
),
quintiles AS (
    SELECT array_agg(v.r[1 + q.k * (v.n / 5) + least(q.k, v.n % 5)] ORDER BY q.k) AS r_cuts,
           array_agg(v.f[1 + q.k * (v.n / 5) + least(q.k, v.n % 5)] ORDER BY q.k) AS f_cuts,
           array_agg(v.m[1 + q.k * (v.n / 5) + least(q.k, v.n % 5)] ORDER BY q.k) AS m_cuts
    FROM v CROSS JOIN generate_series(1, 4) AS q(k)
),
percentiles AS (
    SELECT CASE WHEN max(v.nc) > 0
                THEN array_agg(v.c[1 + CAST(floor(p.i * (v.nc - 1) / 100.0) AS BIGINT)] ORDER BY p.i)
           END AS clv_cuts
    FROM v CROSS JOIN generate_series(0, 100) AS p(i)
)
SELECT CASE WHEN v.n > 0 THEN named_struct(
           'med_spend_per_visit', v.med_spend_per_visit,
           'med_visits_per_month', v.med_visits_per_month,
           'med_spend_per_month', v.med_spend_per_month,
           'med_rhythm_days', v.med_rhythm_days,
           'r_cuts', q.r_cuts, 'f_cuts', q.f_cuts, 'm_cuts', q.m_cuts,
           'clv_cuts', p.clv_cuts,
           'n', v.n)
       END AS parameters
FROM v CROSS JOIN quintiles q CROSS JOIN percentiles p;
