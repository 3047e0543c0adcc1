-- 0007: the indexes of 0006 go. Each cost every key, org and app write about 4 us of CPU, a
-- tenth of a key write; a filtered GET /audit/ now reads the user's events in slices instead,
-- never holding the server for long (src/store/sqlite/audit.ts; docs/performance.md, "Writes").
DROP INDEX IF EXISTS audit_events_by_action;
DROP INDEX IF EXISTS audit_events_by_target;
DROP INDEX IF EXISTS audit_events_by_actor;
