-- Runs once, when the database volume is first created (the postgres image runs every file in
-- /docker-entrypoint-initdb.d/ on an empty data directory, and never again).
-- One row per forecast the API gave: what it said, when, and which replica said it. Later, the
-- readings that came are compared with it.
CREATE TABLE IF NOT EXISTS forecasts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    station    text NOT NULL,
    days       integer NOT NULL,
    forecast   jsonb NOT NULL,  -- [{"day": "2026-03-31", "temperature": 12.6}, ...]
    served_by  text NOT NULL
);
