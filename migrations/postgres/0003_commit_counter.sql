-- 0003: the commit counter of several instances on one database (SPEC §11). Shipped: never
-- edit, append a new file instead.
--
-- Every write transaction bumps its one row first (src/store/postgres/store.ts): the row lock
-- makes writers take turns across instances, as SQLite's BEGIN IMMEDIATE does, so that the
-- services' check-then-write stays safe under READ COMMITTED; and each commit gets a number,
-- which instances poll to notice a change whose NOTIFY they missed. The counter moves when the
-- transaction commits, with its data, never before (a sequence would move before).
CREATE TABLE codepushgo_commits (
  one  boolean PRIMARY KEY DEFAULT true CHECK (one),
  n    bigint NOT NULL
);
INSERT INTO codepushgo_commits (n) VALUES (0);
