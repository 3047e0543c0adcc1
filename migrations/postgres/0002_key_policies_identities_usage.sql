-- 0002: what SQLite's migrations 0004 and 0005 add, on PostgreSQL: key lifetime policies (SPEC
-- §6a), the successor of a rotated key, the org of a deleted app, case-insensitive identities
-- (users.email_key, filled in by this migration's code step, src/db/postgres/migrations.ts;
-- app ids through lower()) and per-key hourly usage. Shipped: never edit, append a new file.

-- Every key lifetime policy that has been in force: the server's (scope 'server') and each
-- org's (scope: the org id). Kept when the org is deleted.
CREATE TABLE key_policies (
  scope           text COLLATE "C" NOT NULL,
  max_days        integer CHECK (max_days BETWEEN 1 AND 36500),
  require_expiry  boolean NOT NULL,
  since           text COLLATE "C" NOT NULL,
  until           text COLLATE "C"
);
CREATE INDEX key_policies_by_scope ON key_policies (scope, since);

ALTER TABLE apikeys ADD COLUMN successor_id bigint;
UPDATE apikeys SET successor_id = (SELECT max(s.id) FROM apikeys s WHERE s.rotated_from = apikeys.id);

ALTER TABLE retired_app_ids ADD COLUMN org_id text COLLATE "C";

ALTER TABLE users ADD COLUMN email_key text COLLATE "C";

-- App ids are unique and retired case-insensitively (SQLite: COLLATE NOCASE indexes).
CREATE INDEX apps_by_id_nocase ON apps (lower(app_id));
CREATE INDEX retired_app_ids_nocase ON retired_app_ids (lower(app_id));

-- Authentications per key per hour, by outcome; `hour` is the Unix time (seconds, UTC) the hour
-- starts at. A key's counts go with the key.
CREATE TABLE key_usage_hourly (
  key_id        bigint NOT NULL REFERENCES apikeys(id) ON DELETE CASCADE,
  hour          bigint NOT NULL,
  allowed       bigint NOT NULL DEFAULT 0,
  forbidden     bigint NOT NULL DEFAULT 0,
  rate_limited  bigint NOT NULL DEFAULT 0,
  rejected      bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (key_id, hour)
);
CREATE INDEX key_usage_hourly_by_hour ON key_usage_hourly (hour);
