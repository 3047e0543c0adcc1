/**
 * The numbered migrations, embedded in the binary as text. Append-only: a shipped file is
 * never edited; a change to the schema is a new file added at the end of this list.
 */
import init from '../../migrations/0001_init.sql' with { type: 'text' }
import keyUsage from '../../migrations/0002_key_usage_and_rate_limit.sql' with { type: 'text' }
import retiredAppIds from '../../migrations/0003_retired_app_ids.sql' with { type: 'text' }
import keyUsageHourly from '../../migrations/0005_key_usage_hourly.sql' with { type: 'text' }

export interface Migration {
  version: number
  name: string
  sql: string
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: '0001_init', sql: init },
  { version: 2, name: '0002_key_usage_and_rate_limit', sql: keyUsage },
  { version: 3, name: '0003_retired_app_ids', sql: retiredAppIds },
  { version: 5, name: '0005_key_usage_hourly', sql: keyUsageHourly },
]
