-- 0004: token buckets every instance shares, so that per-key rate limits and the failed-auth
-- throttle hold across the cluster (SPEC §11; src/store/postgres/buckets.ts). Shipped: never
-- edit, append a new file instead.
--
-- UNLOGGED: a take commits without waiting for the disk (about one round trip); a crash or a
-- failover to a standby empties the table, which only refills the buckets. A bucket is full
-- again once tokens + (now - at_ms) * rate reaches capacity: then it is as good as no row, and
-- is deleted. Times are the instances' clocks in milliseconds, in double precision as
-- JavaScript's numbers, so that the arithmetic is the in-process buckets' to the bit.
CREATE UNLOGGED TABLE codepushgo_rate_buckets (
  id        text COLLATE "C" PRIMARY KEY,
  tokens    double precision NOT NULL,
  at_ms     double precision NOT NULL,
  -- The limit of the last take: requests, and requests per millisecond.
  capacity  double precision NOT NULL,
  rate      double precision NOT NULL,
  -- Whether the last take got a token (its answer, returned by the same statement).
  allowed   boolean NOT NULL
);
