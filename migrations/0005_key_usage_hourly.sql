-- 0005: authentications per key per hour, by outcome (GET /apikey/:id/usage). Written in
-- batches with the last uses; `hour` is the Unix time (seconds, UTC) the hour starts at.
-- A key's counts go with the key when it is deleted. Rows older than the retention window
-- (--usage-retention-days) are pruned, oldest first, through the index on `hour`.
CREATE TABLE key_usage_hourly (
  key_id        INTEGER NOT NULL REFERENCES apikeys(id) ON DELETE CASCADE,
  hour          INTEGER NOT NULL,
  allowed       INTEGER NOT NULL DEFAULT 0,
  forbidden     INTEGER NOT NULL DEFAULT 0,
  rate_limited  INTEGER NOT NULL DEFAULT 0,
  rejected      INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (key_id, hour)
) STRICT, WITHOUT ROWID;
CREATE INDEX key_usage_hourly_by_hour ON key_usage_hourly(hour);
