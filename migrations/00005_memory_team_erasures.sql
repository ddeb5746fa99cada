-- Deleting a team erases its memory everywhere, not only in Postgres. The
-- trigger of migration 00004 deletes the team's events here; it now also
-- queues an erasure of the whole team, which the workers run against every
-- other sink (the team's Weaviate tenant is dropped). A whole-team erasure
-- is the row whose user is empty: a user erasure always names a user.
--
-- The team is gone by the time its erasure runs, so the queue can no longer
-- refer to teams. Store.EraseUser locks the team's row instead (FOR KEY
-- SHARE), so a user erasure is only queued for a team that exists, and a
-- team deleted meanwhile waits for it and then replaces it.

-- +goose Up
ALTER TABLE memory_erasures DROP CONSTRAINT memory_erasures_team_id_fkey;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION attach_delete_team_memory() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM memory_events WHERE team_id = OLD.id;
    DELETE FROM memory_erasures WHERE team_id = OLD.id;
    INSERT INTO memory_erasures (team_id, "user") VALUES (OLD.id, '');
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION attach_delete_team_memory() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM memory_events WHERE team_id = OLD.id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
DELETE FROM memory_erasures e WHERE NOT EXISTS (SELECT 1 FROM teams t WHERE t.id = e.team_id);
ALTER TABLE memory_erasures ADD CONSTRAINT memory_erasures_team_id_fkey
    FOREIGN KEY (team_id) REFERENCES teams (id) ON DELETE CASCADE;
