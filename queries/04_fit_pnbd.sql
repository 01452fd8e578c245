-- fit_pnbd: how Pareto/NBD is fitted, over the member base as of cip.as_of, in days. Views do
-- not call this directly: model_fit('pnbd') returns the stored fit for the session's as-of
-- date (table model_fits) and runs this view once when there is none. customer_segments'
-- p_alive and churn_risk come from it.
CREATE OR REPLACE VIEW fit_pnbd AS
SELECT pnbd_fit(frequency, recency, t) AS parameters FROM member_features;
