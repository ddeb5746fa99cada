-- The foreign key from memory_events to teams is back. Migration 00004
-- dropped it to save about 5 µs per event and had writers lock their teams
-- (FOR KEY SHARE) and a trigger delete a team's events instead. The key
-- keeps the guarantee without code to get right in every writer; deleting a
-- team deletes its events again by cascade (their outbox rows follow
-- through their own key), and the delete trigger keeps only what migration
-- 00005 added: queueing the erasure of the whole team from the other sinks.

-- +goose Up
-- Writers locked the team of every event and the trigger deleted a team's
-- events with it, so no event should outlive its team; one written around
-- the gateway (by hand, or restored from a backup) could, and would make
-- adding the key fail. Such events belong to nobody: they go.
DELETE FROM memory_events e WHERE NOT EXISTS (SELECT 1 FROM teams t WHERE t.id = e.team_id);
ALTER TABLE memory_events ADD CONSTRAINT memory_events_team_id_fkey
    FOREIGN KEY (team_id) REFERENCES teams (id) ON DELETE CASCADE;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION attach_delete_team_memory() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
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
    DELETE FROM memory_erasures WHERE team_id = OLD.id;
    INSERT INTO memory_erasures (team_id, "user") VALUES (OLD.id, '');
    RETURN NULL;
END
$$;
-- +goose StatementEnd
ALTER TABLE memory_events DROP CONSTRAINT memory_events_team_id_fkey;
