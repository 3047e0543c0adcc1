-- 0003: app ids of deleted apps are never handed out again (SPEC §3), so a key limited to a
-- deleted app can never come to reach a new app that took its id.
CREATE TABLE retired_app_ids (
  app_id      TEXT PRIMARY KEY,
  retired_at  TEXT NOT NULL
) STRICT, WITHOUT ROWID;
