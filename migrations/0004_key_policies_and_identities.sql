-- 0004: key lifetime policies (SPEC §6a), the successor of a rotated key (rotation happens
-- once), and case-insensitive identities: emails beyond ASCII (users.email_key, filled in by this
-- migration's code step, src/db/migrations.ts) and app ids.

-- Every key lifetime policy that has been in force: the server's (scope 'server') and each
-- org's (scope: the org id). A key made before a policy's `until` stops at the latest at
-- max(created_at, since) + max_days, for good: no later policy, looser or lifted, extends or
-- revives it. Kept when the org is deleted.
CREATE TABLE key_policies (
  scope           TEXT NOT NULL,
  max_days        INTEGER CHECK (max_days BETWEEN 1 AND 36500),
  require_expiry  INTEGER NOT NULL CHECK (require_expiry IN (0, 1)),
  since           TEXT NOT NULL,
  until           TEXT
) STRICT;
CREATE INDEX key_policies_by_scope ON key_policies(scope, since);

-- Set once, when the key is rotated, and never cleared (not even when the successor is deleted).
ALTER TABLE apikeys ADD COLUMN successor_id INTEGER;
UPDATE apikeys SET successor_id = (SELECT max(s.id) FROM apikeys s WHERE s.rotated_from = apikeys.id);

-- The org a deleted app belonged to: keys limited to the app stay under that org's policies.
ALTER TABLE retired_app_ids ADD COLUMN org_id TEXT;

ALTER TABLE users ADD COLUMN email_key TEXT;

CREATE INDEX apps_by_id_nocase ON apps(app_id COLLATE NOCASE);
CREATE INDEX retired_app_ids_nocase ON retired_app_ids(app_id COLLATE NOCASE);
