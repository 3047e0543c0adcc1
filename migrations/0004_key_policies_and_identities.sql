-- 0004: org key policies and when they came into force (SPEC §6a), the server policy's start,
-- the successor of a rotated key (rotation happens once), and case-insensitive identities:
-- emails beyond ASCII (users.email_key, filled in by this migration's code step, src/db/migrations.ts)
-- and app ids (indexes for the case-insensitive uniqueness and retirement checks).

-- {"max_key_lifetime_days": N | null, "require_expiry": bool} as JSON; NULL: no policy.
ALTER TABLE orgs ADD COLUMN key_policy TEXT;
ALTER TABLE orgs ADD COLUMN key_policy_since TEXT;
CREATE INDEX orgs_with_key_policy ON orgs(id) WHERE key_policy IS NOT NULL;

-- Set once, when the key is rotated, and never cleared (not even when the successor is deleted).
ALTER TABLE apikeys ADD COLUMN successor_id INTEGER;
UPDATE apikeys SET successor_id = (SELECT max(s.id) FROM apikeys s WHERE s.rotated_from = apikeys.id);

-- Server-wide settings that must outlive a restart: the key lifetime policy and its start.
CREATE TABLE settings (
  name   TEXT PRIMARY KEY,
  value  TEXT NOT NULL,
  since  TEXT NOT NULL
) STRICT, WITHOUT ROWID;

ALTER TABLE users ADD COLUMN email_key TEXT;

CREATE INDEX apps_by_id_nocase ON apps(app_id COLLATE NOCASE);
CREATE INDEX retired_app_ids_nocase ON retired_app_ids(app_id COLLATE NOCASE);
