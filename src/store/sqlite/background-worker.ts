/**
 * The background Worker (src/store/sqlite/background.ts): its own connection to the database, a PASSIVE
 * checkpoint every `checkpointMs`, and a count of the keys at start and when asked, posted back.
 */
import { Database } from 'bun:sqlite'
import type { BackgroundMessage, BackgroundOrder } from './background'

declare const self: Worker

let db: Database | null = null
let timer: ReturnType<typeof setInterval> | null = null
let countKeys = () => {}

const post = (message: BackgroundMessage) => self.postMessage(message)

/** Runs `work`, posting what goes wrong. */
function attempt(work: () => void): void {
  try {
    work()
  } catch (error) {
    post({ kind: 'failed', error: String(error) })
  }
}

self.onmessage = (event: MessageEvent<BackgroundOrder>) => {
  const order = event.data
  if (order.kind === 'start') {
    const connection = new Database(order.file)
    db = connection
    // A checkpoint that finds the database busy copies what it can, and tries again next time.
    connection.run(`PRAGMA busy_timeout = ${order.checkpointMs}`)
    const checkpoint = connection.prepare<{ busy: number; log: number; checkpointed: number }, []>('PRAGMA wal_checkpoint(PASSIVE)')
    const count = connection.prepare<{ n: number }, []>('SELECT count(*) AS n FROM apikeys')
    countKeys = () => attempt(() => post({ kind: 'keys', count: count.get()!.n }))
    timer = setInterval(
      () =>
        attempt(() => {
          const { log, checkpointed } = checkpoint.get()!
          if (log > 0) post({ kind: 'checkpointed', frames: log, copied: checkpointed })
        }),
      order.checkpointMs,
    )
    countKeys()
  } else if (order.kind === 'count-keys') {
    countKeys()
  } else {
    if (timer !== null) clearInterval(timer)
    db?.close()
    post({ kind: 'stopped' })
  }
}
