-- member_churn: cip's one churn figure, per member with a visit, as of cip.as_of; used by
-- customer_segments, member_behavior_live (so member_behavior.churn_risk) and
-- upgrade_evaluation (tier_rules.max_churn_risk), so they always agree. Every column of
-- member_features comes along, so a view that needs both reads the visits once.
--
--   p_alive      Pareto/NBD probability the member is still active (model_fit('pnbd'))
--   churn_risk   100 x Pareto/NBD probability of no visit in the next cip.churn_horizon_days
--                days ([models] churn_horizon_days, default 90): the likelihood of the same
--                history watched that much longer over the likelihood of the history
--                (pnbd_p_no_visit). On CDNOW it ranks "came back in the 39-week holdout"
--                with AUC 0.773, where 1 - P(alive) reaches 0.687 (README, "Churn").
--   rhythm_days  the member's own usual gap between visits, shrunk toward the chain's:
--                (alpha + recency) / (r + frequency) with the fit's visit-rate prior
CREATE OR REPLACE VIEW member_churn AS
SELECT f.*,
       pnbd_p_alive(f.frequency, f.recency, f.t, pn.parameters) AS p_alive,
       100.0 * pnbd_p_no_visit(CAST(current_setting('cip.churn_horizon_days') AS DOUBLE),
                               f.frequency, f.recency, f.t, pn.parameters) AS churn_risk,
       (pn.parameters['alpha'] + f.recency) / (pn.parameters['r'] + f.frequency) AS rhythm_days
FROM model_fit('pnbd') pn
CROSS JOIN member_features f;
