/** Where the server gets the time from; tests pass a clock they control. */
export interface Clock {
  now(): Date
  /** `now()` as epoch milliseconds, without making a Date: the hot paths (expiry, last use) ask on every request. */
  nowMs(): number
}

export const systemClock: Clock = { now: () => new Date(), nowMs: Date.now }
