-- 0001: the data model of SPEC §3 on PostgreSQL: what SQLite's migrations 0001-0003 make, in
-- PostgreSQL's types, with the same tables, columns, keys, indexes and checks. Shipped: never
-- edit, append a new file instead.
--
-- Rows read back as SQLite's do, so both backends map them to the same records:
-- * Every text column is COLLATE "C": byte order, as SQLite's BINARY, whatever the database's
--   locale (ORDER BY app_id, email, created_at), and lower() folds A-Z only, as NOCASE does.
-- * Timestamps stay ISO 8601 UTC text (SPEC §3): written by the server's clock, compared and
--   ordered as strings like on SQLite.
-- * JSON columns are jsonb (json for audit details, to keep the order of their keys): Bun
--   returns them parsed. Bind arrays and objects, not JSON text: a string is stored as a JSON
--   string.
-- * Ids that others refer to are identities that are never handed out again (AUTOINCREMENT on
--   SQLite). bigint, as SQLite's integers: Bun returns int8 as a string, so read it with Number().

CREATE TABLE users (
  id          text COLLATE "C" PRIMARY KEY,
  email       text COLLATE "C" NOT NULL,
  name        text COLLATE "C" NOT NULL,
  created_at  text COLLATE "C" NOT NULL
);
-- Emails are unique regardless of ASCII case (SQLite: UNIQUE COLLATE NOCASE). Look a user up by
-- lower(email) = lower($1) to use it.
CREATE UNIQUE INDEX users_email_nocase ON users (lower(email));

CREATE TABLE orgs (
  id          text COLLATE "C" PRIMARY KEY,
  name        text COLLATE "C" NOT NULL,
  created_by  text COLLATE "C" NOT NULL REFERENCES users(id),
  created_at  text COLLATE "C" NOT NULL,
  updated_at  text COLLATE "C" NOT NULL,
  -- Insertion order, for ties on created_at (SQLite orders those by rowid). Not part of a record.
  seq         bigint GENERATED ALWAYS AS IDENTITY
);

CREATE TABLE org_members (
  org_id      text COLLATE "C" NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  user_id     text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role        text COLLATE "C" NOT NULL CHECK (role IN ('read', 'upload', 'write', 'all')),
  created_at  text COLLATE "C" NOT NULL,
  PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_by_user ON org_members (user_id);

CREATE TABLE apps (
  app_id      text COLLATE "C" PRIMARY KEY,
  org_id      text COLLATE "C" NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name        text COLLATE "C" NOT NULL,
  created_at  text COLLATE "C" NOT NULL,
  updated_at  text COLLATE "C" NOT NULL
);
CREATE INDEX apps_by_org ON apps (org_id);

-- limited_to_apps / limited_to_orgs are JSON arrays of ids; a key has at most 100 of each.
-- rate_limit is {"requests": N, "per_seconds": S}; NULL: the server default, if any.
CREATE TABLE apikeys (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id          text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name             text COLLATE "C" NOT NULL,
  mode             text COLLATE "C" NOT NULL CHECK (mode IN ('read', 'upload', 'write', 'all')),
  limited_to_apps  jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(limited_to_apps) = 'array'),
  limited_to_orgs  jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(limited_to_orgs) = 'array'),
  key_hash         text COLLATE "C" NOT NULL UNIQUE,
  key_start        text COLLATE "C" NOT NULL,
  created_at       text COLLATE "C" NOT NULL,
  updated_at       text COLLATE "C" NOT NULL,
  expires_at       text COLLATE "C",
  enabled          boolean NOT NULL DEFAULT true,
  last_used_at     text COLLATE "C",
  rotated_from     bigint,
  last_used_ip     text COLLATE "C",
  rate_limit       jsonb CHECK (jsonb_typeof(rate_limit) = 'object')
);
CREATE INDEX apikeys_by_user ON apikeys (user_id, id);

CREATE TABLE audit_events (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at            text COLLATE "C" NOT NULL,
  user_id       text COLLATE "C" NOT NULL,
  actor_key_id  bigint,
  action        text COLLATE "C" NOT NULL,
  target_type   text COLLATE "C" NOT NULL,
  target_id     text COLLATE "C" NOT NULL,
  ip            text COLLATE "C",
  user_agent    text COLLATE "C",
  details       json NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_by_user ON audit_events (user_id, id);

-- App ids of deleted apps are never handed out again (SPEC §3), so a key limited to a deleted
-- app can never come to reach a new app that took its id.
CREATE TABLE retired_app_ids (
  app_id      text COLLATE "C" PRIMARY KEY,
  retired_at  text COLLATE "C" NOT NULL
);
