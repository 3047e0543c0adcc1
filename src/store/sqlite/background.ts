/**
 * Database work that need not hold the event loop, on a Worker with a connection of its own
 * (src/store/sqlite/background-worker.ts; built into the binary as an entry point of its own):
 *
 * - WAL checkpoints. By default SQLite copies the WAL back into the database on the
 *   connection whose commit takes the WAL past 1000 pages, inside that commit: about 10 ms with
 *   the event loop held, every few hundred last-use writes on a large database
 *   (docs/performance.md, "Checkpoints"). `serve` turns that off on its connection, and the
 *   Worker makes a PASSIVE checkpoint every CHECKPOINT_MS: it waits for no writer and no
 *   writer waits for it, and it does not move the server connection's `data_version`
 *   (another connection's checkpoint is no commit), so the read model keeps what it holds.
 * - Counting keys for /metrics: `count(*)` over a million keys takes 40-60 ms. The Worker
 *   counts at start and whenever asked (each scrape asks for the next one).
 *
 * Should the Worker fail, the server's connection checkpoints again, and the count stays as it was.
 */
import type { Database } from 'bun:sqlite'

/** How often the Worker looks at the WAL. */
const CHECKPOINT_MS = 250

/** What the server tells the Worker, and what the Worker tells back. */
export type BackgroundOrder = { kind: 'start'; file: string; checkpointMs: number } | { kind: 'count-keys' } | { kind: 'stop' }
export type BackgroundMessage =
  | { kind: 'checkpointed'; frames: number; copied: number }
  | { kind: 'keys'; count: number }
  | { kind: 'failed'; error: string }
  | { kind: 'stopped' }

/** What the background work has done so far (/metrics). */
export interface BackgroundStats {
  checkpoints: number
  /** Frames in the WAL at the last checkpoint, and how many of them it copied. */
  lastFrames: number
  lastCopied: number
  /** Keys stored, as last counted (null: not yet). */
  keys: number | null
}

export interface Background {
  stats: BackgroundStats
  /** Asks for a new count of the keys (it lands in `stats.keys`). */
  countKeys(): void
  /** Stops the Worker once its connection is closed; the server's connection checkpoints again. */
  stop(): Promise<void>
}

/**
 * The Worker's module. Run from source, this module is src/store/sqlite/background.ts, beside it; in the
 * binary, every module is bundled into one at the root of the bundle (src/), and the Worker is
 * an entry point of its own under store/sqlite/ (package.json, `build`).
 */
const WORKER = import.meta.path.endsWith('background.ts') ? new URL('./background-worker.ts', import.meta.url) : new URL('./store/sqlite/background-worker.ts', import.meta.url)

/** The server's connection's automatic checkpoints (pages of WAL that trigger one), as SQLite's default. */
const SQLITE_AUTOCHECKPOINT = 1000

export function startBackground(db: Database, file: string, onError: (error: string) => void): Background {
  db.run('PRAGMA wal_autocheckpoint = 0')
  const worker = new Worker(WORKER.href)
  const stats: BackgroundStats = { checkpoints: 0, lastFrames: 0, lastCopied: 0, keys: null }
  const stopped = Promise.withResolvers<void>()
  const checkpointHere = () => db.run(`PRAGMA wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT}`)
  worker.onmessage = (event: MessageEvent<BackgroundMessage>) => {
    const message = event.data
    if (message.kind === 'checkpointed') {
      stats.checkpoints++
      stats.lastFrames = message.frames
      stats.lastCopied = message.copied
    } else if (message.kind === 'keys') {
      stats.keys = message.count
    } else if (message.kind === 'failed') {
      onError(message.error)
    } else {
      stopped.resolve()
    }
  }
  worker.onerror = (event) => {
    checkpointHere()
    onError(event.message)
    stopped.resolve()
  }
  // The Worker keeps no process alive: serve's server does.
  worker.unref()
  const order = (message: BackgroundOrder) => worker.postMessage(message)
  order({ kind: 'start', file, checkpointMs: CHECKPOINT_MS })
  return {
    stats,
    countKeys: () => order({ kind: 'count-keys' }),
    async stop() {
      order({ kind: 'stop' })
      await Promise.race([stopped.promise, Bun.sleep(1000)])
      worker.terminate()
      checkpointHere()
    },
  }
}
