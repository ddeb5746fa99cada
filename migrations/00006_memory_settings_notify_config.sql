-- A team's memory settings are part of its configuration: a change is
-- announced on attach_config with the team id, like a change to its issuers
-- or engines, and every replica's team directory reloads the team. The
-- settings' own channel, attach_memory_settings, and its function go.

-- +goose Up
DROP TRIGGER team_memory_settings_notify ON team_memory_settings;
DROP FUNCTION attach_notify_memory_settings();
CREATE TRIGGER team_memory_settings_notify AFTER INSERT OR UPDATE OR DELETE ON team_memory_settings
    FOR EACH ROW EXECUTE FUNCTION attach_notify_config('team_id');

-- +goose Down
DROP TRIGGER team_memory_settings_notify ON team_memory_settings;

-- +goose StatementBegin
CREATE FUNCTION attach_notify_memory_settings() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('attach_memory_settings', OLD.team_id::text);
    ELSE
        PERFORM pg_notify('attach_memory_settings', NEW.team_id::text);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER team_memory_settings_notify AFTER INSERT OR UPDATE OR DELETE ON team_memory_settings
    FOR EACH ROW EXECUTE FUNCTION attach_notify_memory_settings();
