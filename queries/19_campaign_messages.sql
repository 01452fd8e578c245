-- campaign_messages: each personal message of a campaign and where its delivery stands. One
-- row per message of message_outbox (what launch_campaign rendered), with the latest step of
-- its delivery log message_attempts (src/campaigns/dispatch):
--   status        queued (no step yet), sending (handed to the gateway, no answer logged yet),
--                 sent (the gateway accepted it), failed (the last attempt failed; it will be
--                 retried), dead (given up: last_error says why)
--   attempts      calls made to the gateway so far
--   last_error    the error of the latest failed or dead step
--   sent_at       when the gateway accepted it
--   updated_at    the latest step's time (created_at when none)
CREATE OR REPLACE VIEW campaign_messages AS
WITH steps AS (
    SELECT message_id,
           last_value(status ORDER BY id) AS status,
           max(attempt) AS attempts,
           last_value(error ORDER BY id) FILTER (WHERE error IS NOT NULL) AS last_error,
           min(CASE WHEN status = 'sent' THEN created_at END) AS sent_at,
           max(created_at) AS updated_at
    FROM message_attempts
    GROUP BY message_id
)
SELECT o.message_id, o.campaign_id, o.member_id, o.variant, o.channel, o.offer_category,
       o.content, o.tracking_token, o.template_id, o.template_version,
       coalesce(s.status, 'queued') AS status,
       coalesce(s.attempts, 0) AS attempts,
       s.last_error,
       o.created_at,
       s.sent_at,
       coalesce(s.updated_at, o.created_at) AS updated_at
FROM message_outbox o
LEFT JOIN steps s ON s.message_id = o.message_id;
