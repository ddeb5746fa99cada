-- A2A agents a team reaches through the gateway, and every task handed to
-- them. Task reads are answered from here, so they survive an agent that is
-- down and a gateway restart.

-- +goose Up
CREATE TABLE agents (
    id               uuid PRIMARY KEY,
    team_id          uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name             text NOT NULL,
    base_url         text NOT NULL,
    version          text NOT NULL CHECK (version IN ('0.3', '1.0', 'auto')),
    -- AES-GCM sealed upstream credential, the agent id as additional data.
    credential_enc   bytea,
    credential_last4 text NOT NULL DEFAULT '',
    -- The agent's own card as last fetched; card_error says why the last
    -- fetch failed.
    card             jsonb,
    card_version     text NOT NULL DEFAULT '',
    card_error       text NOT NULL DEFAULT '',
    card_fetched_at  timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team_id, name)
);
CREATE INDEX agents_team_id ON agents (team_id, id);

CREATE TABLE tasks (
    id          uuid PRIMARY KEY, -- the gateway's own id (UUIDv7)
    team_id     uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    -- An agent removed keeps its tasks' history; its name stays readable.
    agent_id    uuid REFERENCES agents (id) ON DELETE SET NULL,
    agent_name  text NOT NULL,
    task_id     text NOT NULL, -- the agent's id for the task
    context_id  text NOT NULL DEFAULT '',
    user_sub    text NOT NULL,
    session_id  text NOT NULL DEFAULT '',
    -- The task on whose behalf an agent made this call. No foreign key:
    -- the parent is named while it runs, before its own row may exist.
    parent_id   uuid,
    state       text NOT NULL,
    reason      text NOT NULL DEFAULT '',
    -- The task as the agent last described it, in A2A 0.3's shape.
    snapshot    jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- When a replica last asked the agent about a task still running.
    checked_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_running ON tasks (checked_at)
    WHERE state NOT IN ('completed', 'canceled', 'failed', 'rejected');
CREATE UNIQUE INDEX tasks_agent_task ON tasks (team_id, agent_name, task_id);
CREATE INDEX tasks_team_updated ON tasks (team_id, updated_at DESC, id);
CREATE INDEX tasks_parent ON tasks (parent_id) WHERE parent_id IS NOT NULL;

-- Each state change and each message of a task, in order.
CREATE TABLE task_events (
    id         bigserial PRIMARY KEY,
    task       uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    state      text NOT NULL DEFAULT '', -- the state entered; '' for a message alone
    message    jsonb,                    -- A2A 0.3 message, when there is one
    at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX task_events_task ON task_events (task, id);

-- +goose Down
DROP TABLE task_events;
DROP TABLE tasks;
DROP TABLE agents;
