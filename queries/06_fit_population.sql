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
--
-- One pass over member_measures: the values are gathered unordered (array_agg keeps them as
-- arrays) and quantile_cuts / percentile_cuts sort each once and pick the cut points — the
-- value at a rank does not depend on how ties are ordered. No window, no ordered aggregate,
-- no array replicated per cut point, so ten million members need a few hundred MB.
CREATE OR REPLACE VIEW fit_population AS
SELECT CASE WHEN count(*) > 0 THEN named_struct(
           'med_spend_per_visit', median(CASE WHEN established THEN monetary END),
           'med_visits_per_month', median(CASE WHEN established THEN visits_per_month END),
           'med_spend_per_month', median(CASE WHEN established THEN spend_per_month END),
           'med_rhythm_days', median(CASE WHEN established THEN rhythm_days END),
           'r_cuts', quantile_cuts(array_agg(-CAST(recency_days AS DOUBLE)), 5),
           'f_cuts', quantile_cuts(array_agg(visits_per_month), 5),
           'm_cuts', quantile_cuts(array_agg(monetary), 5),
           'clv_cuts', percentile_cuts(array_agg(expected_clv), 101),
           'n', count(*))
       END AS parameters
FROM member_measures
WHERE visit_days IS NOT NULL;
