-- Runs once, when the database volume is first created (the postgres image runs every file in
-- /docker-entrypoint-initdb.d/ on an empty data directory, and never again).
CREATE TABLE IF NOT EXISTS predictions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    text       text NOT NULL,
    label      text NOT NULL,
    score      real NOT NULL,
    served_by  text NOT NULL
);
