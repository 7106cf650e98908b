-- gantry state database, schema version 1.
-- Whole objects are JSON documents (Kargo-shaped, camelCase); the columns beside them are what
-- queries filter and order by. Times are Unix milliseconds.

CREATE TABLE warehouse_status (
    project     TEXT NOT NULL,
    warehouse   TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (json_valid(status)),
    updated_ms  INTEGER NOT NULL,
    PRIMARY KEY (project, warehouse)
) STRICT, WITHOUT ROWID;

CREATE TABLE freight (
    seq            INTEGER PRIMARY KEY,
    project        TEXT NOT NULL,
    id             TEXT NOT NULL,
    origin_kind    TEXT NOT NULL,
    origin_name    TEXT NOT NULL,
    alias          TEXT,
    discovered_ms  INTEGER NOT NULL,
    created_ms     INTEGER NOT NULL,
    -- the Freight without alias and status: immutable
    content        TEXT NOT NULL CHECK (json_valid(content)),
    status         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(status)),
    UNIQUE (project, id)
) STRICT;
CREATE UNIQUE INDEX freight_alias ON freight (project, alias) WHERE alias IS NOT NULL;
CREATE INDEX freight_newest_by_origin
    ON freight (project, origin_name, discovered_ms DESC, id DESC);
CREATE INDEX freight_newest ON freight (project, discovered_ms DESC, id DESC);
CREATE TRIGGER freight_content_immutable
    BEFORE UPDATE OF project, id, origin_kind, origin_name, discovered_ms, created_ms, content
    ON freight
BEGIN
    SELECT RAISE(ABORT, 'freight content is immutable');
END;

CREATE TABLE stage_status (
    project     TEXT NOT NULL,
    stage       TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (json_valid(status)),
    updated_ms  INTEGER NOT NULL,
    PRIMARY KEY (project, stage)
) STRICT, WITHOUT ROWID;

CREATE TABLE promotion (
    project     TEXT NOT NULL,
    name        TEXT NOT NULL,
    stage       TEXT NOT NULL,
    freight     TEXT NOT NULL,
    phase       TEXT NOT NULL CHECK (phase IN
                    ('Pending', 'Running', 'Succeeded', 'Failed', 'Errored', 'Aborted')),
    actor       TEXT,
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL,
    -- what the runner needs to resume (steps, vars, context): opaque to the store
    spec        TEXT NOT NULL CHECK (json_valid(spec)),
    -- gantry_engine::PromotionStatus
    status      TEXT NOT NULL CHECK (json_valid(status)),
    PRIMARY KEY (project, name),
    FOREIGN KEY (project, freight) REFERENCES freight (project, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX promotion_by_stage ON promotion (project, stage, name);
CREATE INDEX promotion_by_freight ON promotion (project, freight, stage);
CREATE INDEX promotion_unfinished ON promotion (project, stage, name)
    WHERE phase IN ('Pending', 'Running');
CREATE TRIGGER promotion_finished_immutable
    BEFORE UPDATE ON promotion
    WHEN OLD.phase IN ('Succeeded', 'Failed', 'Errored', 'Aborted')
BEGIN
    SELECT RAISE(ABORT, 'a finished promotion cannot change');
END;

CREATE TABLE event (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms    INTEGER NOT NULL,
    project  TEXT,
    kind     TEXT NOT NULL,
    subject  TEXT NOT NULL,
    actor    TEXT,
    message  TEXT NOT NULL,
    details  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details))
) STRICT;
CREATE INDEX event_by_project ON event (project, id);
CREATE INDEX event_by_subject ON event (subject, id);
CREATE TRIGGER event_no_update BEFORE UPDATE ON event
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only');
END;
CREATE TRIGGER event_no_delete BEFORE DELETE ON event
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only');
END;
