-- fit_mbgnbd: how MBG/NBD (cip's churn model) is fitted, over the member base as of cip.as_of, in days. Views do not
-- call this directly: model_fit('mbgnbd') returns the stored fit for the session's as-of date
-- (table model_fits) and runs this view once when there is none.
CREATE OR REPLACE VIEW fit_mbgnbd AS
SELECT mbgnbd_fit(frequency, recency, t) AS parameters FROM member_features;
