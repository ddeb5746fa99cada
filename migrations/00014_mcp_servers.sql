-- MCP servers a team reaches through the gateway at /t/{team}/mcp/{name},
-- and the memory event kind of the tool calls relayed to them. A change to
-- a team's MCP server is announced on attach_config with the team id, like
-- a change to its agents, and every replica's team directory reloads the
-- team.

-- +goose Up
CREATE TABLE mcp_servers (
    id             uuid PRIMARY KEY,
    team_id        uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name           text NOT NULL,
    url            text NOT NULL,
    -- AES-GCM sealed upstream credential, the server id as additional data.
    credential_enc bytea,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team_id, name)
);
CREATE INDEX mcp_servers_team_id ON mcp_servers (team_id, id);
CREATE TRIGGER mcp_servers_notify AFTER INSERT OR UPDATE OR DELETE ON mcp_servers
    FOR EACH ROW EXECUTE FUNCTION attach_notify_config('team_id');

ALTER TABLE memory_events DROP CONSTRAINT memory_events_kind_check;
ALTER TABLE memory_events ADD CONSTRAINT memory_events_kind_check
    CHECK (kind IN ('prompt', 'response', 'task_sent', 'task_result', 'log', 'note', 'tool_call'));

-- +goose Down
DELETE FROM memory_events WHERE kind = 'tool_call';
ALTER TABLE memory_events DROP CONSTRAINT memory_events_kind_check;
ALTER TABLE memory_events ADD CONSTRAINT memory_events_kind_check
    CHECK (kind IN ('prompt', 'response', 'task_sent', 'task_result', 'log', 'note'));
DROP TABLE mcp_servers;
