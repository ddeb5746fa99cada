-- The memory bus: every prompt, answer, hand-off, log line and note a team's
-- traffic produces, kept in Postgres first and then delivered to the team's
-- memory sink through an outbox, so no event is lost when a sink is down.
-- Event ids are UUIDv7 made by the application: ordering by id is ordering
-- by creation, and the id is the key every sink writes under.

-- +goose Up
CREATE TABLE memory_events (
    id          uuid PRIMARY KEY,
    team_id     uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    "user"      text NOT NULL DEFAULT '',
    session     text NOT NULL DEFAULT '',
    kind        text NOT NULL CHECK (kind IN ('prompt', 'response', 'task_sent', 'task_result', 'log', 'note')),
    role        text NOT NULL DEFAULT '',
    model       text NOT NULL DEFAULT '',
    engine      text NOT NULL DEFAULT '',
    content     text NOT NULL,
    truncated   boolean NOT NULL DEFAULT false,
    task_id     text NOT NULL DEFAULT '',
    metadata    jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- 'simple': no stemming and no stop words, so a search finds the words
    -- as written, in any language. Stored, so ranking the matches of a
    -- search does not parse every matching text again.
    content_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED
);
CREATE INDEX memory_events_team ON memory_events (team_id, id DESC);
CREATE INDEX memory_events_session ON memory_events (team_id, session, id);
CREATE INDEX memory_events_user ON memory_events (team_id, "user", id);
-- Most events (chat prompts and answers) belong to no task.
CREATE INDEX memory_events_task ON memory_events (team_id, task_id, id) WHERE task_id <> '';
CREATE INDEX memory_events_search ON memory_events USING gin (content_tsv);

-- One row per event still to be delivered to the team's sink. Workers claim
-- due rows with FOR UPDATE SKIP LOCKED and delete them in the transaction
-- that saw the sink accept them; a failure pushes next_attempt_at back.
CREATE TABLE memory_outbox (
    event_id        uuid PRIMARY KEY REFERENCES memory_events (id) ON DELETE CASCADE,
    team_id         uuid NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX memory_outbox_due ON memory_outbox (next_attempt_at);
CREATE INDEX memory_outbox_team ON memory_outbox (team_id, created_at);

-- Users whose events must still be erased from the sinks. The rows in
-- memory_events are deleted at once; this makes erasing elsewhere durable.
CREATE TABLE memory_erasures (
    team_id         uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    "user"          text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, "user")
);
CREATE INDEX memory_erasures_due ON memory_erasures (next_attempt_at);

-- A team's memory choices. NULL means the install's default.
CREATE TABLE team_memory_settings (
    team_id     uuid PRIMARY KEY REFERENCES teams (id) ON DELETE CASCADE,
    backend     text CHECK (backend IN ('postgres', 'weaviate', 'none')),
    embed_model text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Every replica keeps the teams' backends in memory (the proxy asks on every
-- call whether to record) and reloads the team named by the payload.
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

-- Workers sleep until there is something to deliver. One notice per
-- statement, not per row: a batch of 500 events wakes them once, and
-- Postgres folds identical notices of one transaction into one.
-- +goose StatementBegin
CREATE FUNCTION attach_notify_memory() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('attach_memory', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER memory_outbox_notify AFTER INSERT ON memory_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION attach_notify_memory();
CREATE TRIGGER memory_erasures_notify AFTER INSERT ON memory_erasures
    FOR EACH STATEMENT EXECUTE FUNCTION attach_notify_memory();

-- +goose Down
DROP TABLE team_memory_settings;
DROP TABLE memory_erasures;
DROP TABLE memory_outbox;
DROP TABLE memory_events;
DROP FUNCTION attach_notify_memory_settings();
DROP FUNCTION attach_notify_memory();
