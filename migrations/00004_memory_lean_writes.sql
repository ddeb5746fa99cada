-- Every chat exchange writes two memory events, so the cost of one row is
-- paid twice per request. The foreign key from memory_events to teams was
-- the largest part of it after full-text indexing: Postgres checks it row by
-- row, locking the team's row once per event. Writers now lock the teams of
-- a whole batch once (FOR KEY SHARE, see memory/write.go), which keeps the
-- same guarantee, and this trigger keeps the cascade: deleting a team
-- deletes its events (their outbox rows follow through their own key).

-- +goose Up
ALTER TABLE memory_events DROP CONSTRAINT memory_events_team_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION attach_delete_team_memory() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM memory_events WHERE team_id = OLD.id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER teams_delete_memory AFTER DELETE ON teams
    FOR EACH ROW EXECUTE FUNCTION attach_delete_team_memory();

-- +goose Down
DROP TRIGGER teams_delete_memory ON teams;
DROP FUNCTION attach_delete_team_memory();
DELETE FROM memory_events e WHERE NOT EXISTS (SELECT 1 FROM teams t WHERE t.id = e.team_id);
ALTER TABLE memory_events ADD CONSTRAINT memory_events_team_id_fkey
    FOREIGN KEY (team_id) REFERENCES teams (id) ON DELETE CASCADE;
