/**
 * The SQLite adapter of the store (src/store/types.ts): one database file, two connections.
 * Every write runs on the write connection, one transaction at a time, the writes that arrive
 * together sharing it (src/store/sqlite/group-commit.ts); every read outside a write runs on
 * the read connection, which sees only what is committed, so a read never sees a write that is
 * still under way across an `await`. Answers are plain values: nothing here waits.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Change } from '../../read-model/changes'
import type { Repos, Store } from '../types'
import { apiKeyRepository } from './apikeys'
import { appRepository } from './apps'
import { auditRepository } from './audit'
import { sqliteChangeFeed } from './change-feed'
import { closeDatabase, DATABASE_FILE, openDatabase, type Database } from './database'
import { GroupCommit } from './group-commit'
import { keyPolicyRepository } from './key-policies'
import { migrate } from './migrate'
import { organizationRepository } from './orgs'
import { usageRepository } from './usage'
import { userRepository } from './users'

/** A SQLite store, with what only SQLite has: its write connection (checkpoints, backups) and its file. */
export interface SqliteStore extends Store {
  readonly backend: 'sqlite'
  /** The write connection. */
  readonly db: Database
  /** The directory that holds the database file. */
  readonly dir: string
  /** Shared transactions committed so far (tests). */
  readonly commits: number
}

function repositories(db: Database, note: (change: Change) => void): Repos {
  return {
    users: userRepository(db),
    orgs: organizationRepository(db, note),
    apps: appRepository(db, note),
    apikeys: apiKeyRepository(db, note),
    audit: auditRepository(db),
    keyPolicies: keyPolicyRepository(db, note),
    usage: usageRepository(db),
  }
}

const readOnly = () => {
  throw new Error('a write outside store.write()')
}

/**
 * Scratch databases (tests, benchmarks): memory-backed where there is /dev/shm, removed on
 * close, when their store is garbage-collected, or at the latest when the process exits.
 */
const scratchDirs = new Set<string>()
const removeScratch = (dir: string) => {
  scratchDirs.delete(dir)
  rmSync(dir, { recursive: true, force: true })
}
const collected = new FinalizationRegistry(removeScratch)
process.once('exit', () => scratchDirs.forEach(removeScratch))

/** An empty database with every migration applied, made once: scratch stores start from a copy. */
let migratedImage: Uint8Array | null = null

/**
 * A scratch directory holding a copy of the migrated empty database: tests open thousands of
 * scratch stores, and copying it costs a tenth of migrating (about 0.1 against 0.9 ms).
 */
function scratchDir(): string {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'codepushgo-'))
  scratchDirs.add(dir)
  if (migratedImage === null) {
    const template = openDatabase(null)
    migrate(template)
    migratedImage = template.serialize()
    template.close()
  }
  writeFileSync(join(dir, DATABASE_FILE), migratedImage, { mode: 0o600 })
  return dir
}

/**
 * Opens the database in `dir` (null: a scratch database, deleted on close) and applies the
 * pending migrations.
 */
export function openSqliteStore(dir: string | null): SqliteStore {
  const path = dir ?? scratchDir()
  const writer = openDatabase(path)
  migrate(writer)
  const reader = openDatabase(path)
  const listeners: ((changes: readonly Change[]) => void)[] = []
  let notes: Change[] = []
  const publish = () => {
    if (notes.length === 0) return
    const changes = notes
    notes = []
    for (const listener of listeners) listener(changes)
  }
  const tx = repositories(writer, (change) => notes.push(change))
  const group = new GroupCommit(writer, {
    count: () => notes.length,
    dropFrom: (count) => void (notes.length = count),
    ended: publish,
  })
  // Marks the writes under way, to refuse a write started inside another one: it would wait
  // for the transaction it is part of.
  const inWrite = new AsyncLocalStorage<true>()
  const store: SqliteStore = {
    backend: 'sqlite',
    db: writer,
    dir: path,
    get commits() {
      return group.commits
    },
    ...repositories(reader, readOnly),
    write(work) {
      if (inWrite.getStore()) throw new Error('store.write() inside a write: use the transaction it was given')
      return group.run(() => inWrite.run(true, () => work(tx)))
    },
    // Writes take turns in this process: what the read model has not heard of is this group's.
    pendingChanges: () => notes,
    onCommit: (listener) => void listeners.push(listener),
    // The write connection hears other connections' commits: the reader never writes.
    feed: sqliteChangeFeed(writer),
    buckets: null,
    ping() {
      reader.query('SELECT 1 FROM users LIMIT 1').get()
    },
    async close() {
      while (group.busy) await new Promise((resolve) => setImmediate(resolve))
      reader.close()
      closeDatabase(writer)
      if (dir === null) removeScratch(path)
    },
  }
  if (dir === null) collected.register(store, path)
  return store
}
