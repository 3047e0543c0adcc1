-- 0002: the client address of a key's last use, and an optional per-key rate limit
-- ({"requests": N, "per_seconds": S} as JSON; NULL: the server default, if any).
ALTER TABLE apikeys ADD COLUMN last_used_ip TEXT;
ALTER TABLE apikeys ADD COLUMN rate_limit TEXT;
