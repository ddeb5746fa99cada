-- Tasks sent through the seed's routes (POST /a2a/tasks/send). The work
-- itself is a job of the River queue (its own tables, migrated with these);
-- this row is what GET /a2a/tasks/status answers: who may see the task, and
-- how it ended.

-- +goose Up
CREATE TABLE seed_tasks (
    id          uuid PRIMARY KEY, -- the task_id the caller gets (UUIDv7)
    team_id     uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_sub    text NOT NULL,
    session_id  text NOT NULL DEFAULT '',
    job_id      bigint NOT NULL, -- the River job doing the work
    -- What the work is sent to: 'engine' (an engine route such as
    -- /api/chat) or 'agent' (an agent's name).
    target_kind text NOT NULL CHECK (target_kind IN ('engine', 'agent')),
    target      text NOT NULL,
    state       text NOT NULL CHECK (state IN ('queued', 'in_progress', 'done', 'error')),
    result      jsonb,
    reason      text NOT NULL DEFAULT '',
    -- The agent's id of the task a delivery started, so a job resumed after
    -- a restart follows that task instead of sending the message again.
    agent_task  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX seed_tasks_team ON seed_tasks (team_id, created_at DESC);

-- +goose Down
DROP TABLE seed_tasks;
