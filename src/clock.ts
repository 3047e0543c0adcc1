/** Where the server gets the time from; tests pass a clock they control. */
export interface Clock {
  now(): Date
}

export const systemClock: Clock = { now: () => new Date() }

/** ISO 8601 UTC, as every timestamp of the API (`2024-01-01T00:00:00.000Z`). */
export function isoNow(clock: Clock): string {
  return clock.now().toISOString()
}
