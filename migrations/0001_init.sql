-- 0001: the whole data model of SPEC §3. Shipped: never edit, append a new file instead.

CREATE TABLE users (
  id          TEXT PRIMARY KEY,
  email       TEXT NOT NULL UNIQUE COLLATE NOCASE,
  name        TEXT NOT NULL,
  created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE orgs (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  created_by  TEXT NOT NULL REFERENCES users(id),
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE org_members (
  org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role        TEXT NOT NULL CHECK (role IN ('read', 'upload', 'write', 'all')),
  created_at  TEXT NOT NULL,
  PRIMARY KEY (org_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX org_members_by_user ON org_members(user_id);

CREATE TABLE apps (
  app_id      TEXT PRIMARY KEY,
  org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX apps_by_org ON apps(org_id);

-- AUTOINCREMENT: a deleted key's id is never handed out again (SPEC §3).
-- limited_to_apps / limited_to_orgs are JSON arrays of ids; a key has at most 100 of each.
CREATE TABLE apikeys (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name             TEXT NOT NULL,
  mode             TEXT NOT NULL CHECK (mode IN ('read', 'upload', 'write', 'all')),
  limited_to_apps  TEXT NOT NULL DEFAULT '[]',
  limited_to_orgs  TEXT NOT NULL DEFAULT '[]',
  key_hash         TEXT NOT NULL UNIQUE,
  key_start        TEXT NOT NULL,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL,
  expires_at       TEXT,
  enabled          INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  last_used_at     TEXT,
  rotated_from     INTEGER
) STRICT;
CREATE INDEX apikeys_by_user ON apikeys(user_id, id);

CREATE TABLE audit_events (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  at            TEXT NOT NULL,
  user_id       TEXT NOT NULL,
  actor_key_id  INTEGER,
  action        TEXT NOT NULL,
  target_type   TEXT NOT NULL,
  target_id     TEXT NOT NULL,
  ip            TEXT,
  user_agent    TEXT,
  details       TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX audit_events_by_user ON audit_events(user_id, id);
