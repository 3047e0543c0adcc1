-- 0005: what SQLite's migration 0006 adds, on PostgreSQL: GET /audit/'s filters as index ranges
-- (one action, one target or one acting key, in id order). Shipped: never edit, append a new file.
CREATE INDEX audit_events_by_action ON audit_events (user_id, action, id);
CREATE INDEX audit_events_by_target ON audit_events (user_id, target_type, target_id, id);
CREATE INDEX audit_events_by_actor ON audit_events (user_id, actor_key_id, id);
