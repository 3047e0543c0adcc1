-- 0006: GET /audit/'s filters as index ranges. A filtered page walks the events of one action,
-- one target or one acting key in id order, newest first, below the keyset's `after`: it reads
-- what it answers, however many other events the user has (src/store/sqlite/audit.ts).
CREATE INDEX audit_events_by_action ON audit_events(user_id, action, id);
CREATE INDEX audit_events_by_target ON audit_events(user_id, target_type, target_id, id);
CREATE INDEX audit_events_by_actor ON audit_events(user_id, actor_key_id, id);
