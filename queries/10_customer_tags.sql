-- customer_tags: every active member's tags as of cip.as_of: member_id, behavior_tags,
-- preference_tags, value_tags (text arrays of the fifteen names in the design). Each tag's
-- definition and threshold is in 08_member_scores_live.sql, which computes them; this reads
-- them from member_scores, the stored snapshot when it is current.
CREATE OR REPLACE VIEW customer_tags AS
SELECT member_id, behavior_tags, preference_tags, value_tags FROM member_scores;
