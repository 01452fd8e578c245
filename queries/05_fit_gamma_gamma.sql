-- fit_gamma_gamma: how Gamma-Gamma is fitted, over the member base as of cip.as_of, in days. Views do not
-- call this directly: model_fit('gamma_gamma') returns the stored fit for the session's as-of date
-- (table model_fits) and runs this view once when there is none.
--
-- It takes the mean spend of repeat visit-days (the first visit left out, as in Fader, Hardie
-- & Lee's RFM/CLV paper), for members with at least one repeat.
CREATE OR REPLACE VIEW fit_gamma_gamma AS
SELECT gamma_gamma_fit(frequency, repeat_monetary) AS parameters
FROM member_features
WHERE frequency > 0;
