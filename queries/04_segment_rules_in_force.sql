-- segment_rules_in_force: the rows of segment_rules in force on the session's cip.as_of
-- date: every rule of the highest version valid from that date or earlier (a version without
-- valid_from is in force from the start). customer_segments_live decides by them;
-- member_measures takes the `new` rule's tenure from them.
CREATE OR REPLACE VIEW segment_rules_in_force AS
SELECT r.*
FROM segment_rules r
JOIN (
    SELECT max(version) AS version
    FROM segment_rules
    WHERE valid_from IS NULL OR business_date(valid_from) <= cip_as_of()
) v ON r.version = v.version;
