-- Console users get a namespace of their own. Their events were stored
-- under their bare user id, which any issuer's token could name as its sub
-- and so read them; the gateway now stamps "user:" and the id (a prefix no
-- token may carry), and this moves their existing events there. Only events
-- whose user is the id of a console user change; every other subject (an
-- issuer's, an API key's "apikey:<id>") stays as it is.
--
-- The moved events are queued for delivery again, so that a team's other
-- sink (Weaviate) holds them under the new user too; the Postgres sink has
-- nothing to do for them.

-- +goose Up
WITH moved AS (
    UPDATE memory_events e SET "user" = 'user:' || e."user"
    FROM users u
    WHERE e."user" = u.id::text
    RETURNING e.id, e.team_id
)
INSERT INTO memory_outbox (event_id, team_id)
SELECT id, team_id FROM moved
ON CONFLICT (event_id) DO NOTHING;

-- +goose Down
WITH moved AS (
    UPDATE memory_events e SET "user" = u.id::text
    FROM users u
    WHERE e."user" = 'user:' || u.id::text
    RETURNING e.id, e.team_id
)
INSERT INTO memory_outbox (event_id, team_id)
SELECT id, team_id FROM moved
ON CONFLICT (event_id) DO NOTHING;
