-- A team's agents are part of its configuration: a change to one (its
-- settings, or the card fetched from it) is announced on attach_config with
-- the team id, like a change to its engines, and every replica's team
-- directory reloads the team.

-- +goose Up
CREATE TRIGGER agents_notify AFTER INSERT OR UPDATE OR DELETE ON agents
    FOR EACH ROW EXECUTE FUNCTION attach_notify_config('team_id');

-- +goose Down
DROP TRIGGER agents_notify ON agents;
