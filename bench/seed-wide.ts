/**
 * The wide database of the benchmark: 1,000,000 keys of 10,000 users, seeded straight through
 * bun:sqlite. Seeding takes tens of seconds, so it is made once and kept in a cache file
 * (BENCH_CACHE_DIR, default `$TMPDIR/codepushgo-bench-cache`) named by a hash of the migrations
 * and of this file; each run copies that file (a second or two) into its own data directory.
 *
 * - user 0, "listed": 1,000 keys spread over the whole id range, and 1,000,000 audit events
 *   (scenario g: paging deep into a key list and an audit log);
 * - users 1-125, "writers": one unlimited `all` key each, to make 100,000 keys through the API;
 * - 9,874 more users share the other 998,875 keys (about 101 each), of mixed modes and limits.
 * Every user is a member of org 0, whose app 0 the verify scenarios ask about.
 *
 * Keys are not random: key i is made from a fixed sequence (`wideKey(i)`), so that a run knows
 * every key of a cached file without storing a secret anywhere. Key i has id i + 1.
 */
import { Database } from 'bun:sqlite'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashKey, keyStart, keyWithBody } from '../src/access/key-format'
import { MODES, type Mode } from '../src/access/modes'
import { DATABASE_FILE } from '../src/store/sqlite/database'
import { prng } from './seed'

export const WIDE_KEYS = 1_000_000
export const WIDE_USERS = 10_000
export const WIDE_ORGS = 1_000
export const WIDE_APPS = 2_000
/** Keys of the listed user: every 1000th key. */
export const LISTED_KEYS = 1_000
export const AUDIT_EVENTS = 1_000_000
export const WRITERS = 125
/** Keys each writer makes through the API (WRITERS × this = 100,000). */
export const KEYS_PER_WRITER = 800
/** Hot keys of scenario (a) on the wide database, and the keys scenario (f) rotates over. */
export const HOT_KEYS = 1_000
export const WIDE_ROTATION = 100_000

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** Key i of the wide database (well-formed: base62 body, checksum). */
export function wideKey(i: number): string {
  const random = prng(Math.imul(i + 1, 0x9e3779b1) ^ 0x5eed)
  let body = ''
  for (let c = 0; c < 30; c++) body += BASE62[Math.floor(random() * 62)]
  return keyWithBody(body)
}

const pad = (n: number) => String(n).padStart(16, '0')
export const wideUserId = (u: number) => `usr_${pad(u)}`
export const wideOrgId = (o: number) => `org_${pad(o)}`
export const wideAppId = (a: number) => `com.wide.app${a}`
/** Apps 2o and 2o+1 belong to org o. */
const orgOfApp = (a: number) => a >> 1
export const LISTED_USER = 0
/** The app the verify scenarios ask about (org 0's first). */
export const WIDE_VERIFY_APP = wideAppId(0)

/** Who owns key i: the listed user every 1000th key, then the writers, then everyone else in turn. */
function ownerOf(i: number): number {
  if (i % (WIDE_KEYS / LISTED_KEYS) === 0) return LISTED_USER
  if (i <= WRITERS) return i
  return 1 + WRITERS + (i % (WIDE_USERS - 1 - WRITERS))
}

/** The orgs of user u and the role in each: org 0, a home org, every third user one more. */
function orgsOf(u: number): Map<number, Mode> {
  const orgs = new Map<number, Mode>()
  const privileged = u <= WRITERS
  orgs.set(0, privileged ? 'all' : MODES[(u >> 2) % 4]!)
  const home = u % WIDE_ORGS
  if (!orgs.has(home)) orgs.set(home, privileged ? 'all' : MODES[u % 4]!)
  const third = (u + 3) % WIDE_ORGS
  if (u % 3 === 0 && !orgs.has(third)) orgs.set(third, privileged ? 'all' : MODES[(u >> 1) % 4]!)
  return orgs
}

interface KeySettings {
  user: number
  mode: Mode
  orgs: number[]
  apps: number[]
  enabled: boolean
  expires: boolean
}

/**
 * Every key's settings, in id order, from one fixed sequence: the first key of the listed
 * user and each writer's key are unlimited `all` keys; the others mix modes and limits.
 */
function* keySettings(): Generator<KeySettings> {
  const random = prng(20240602)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
  const orgLists = new Map<number, number[]>()
  for (let i = 0; i < WIDE_KEYS; i++) {
    const user = ownerOf(i)
    if (i === 0 || (user >= 1 && user <= WRITERS)) {
      yield { user, mode: 'all', orgs: [], apps: [], enabled: true, expires: false }
      continue
    }
    let orgsOfUser = orgLists.get(user)
    if (orgsOfUser === undefined) orgLists.set(user, (orgsOfUser = [...orgsOf(user).keys()]))
    const m = random()
    const mode: Mode = m < 0.3 ? 'read' : m < 0.5 ? 'upload' : m < 0.7 ? 'write' : 'all'
    let orgs: number[] = []
    let apps: number[] = []
    const limit = random()
    if (limit < 0.6) {
      // unlimited
    } else if (limit < 0.8) {
      orgs = [...new Set([pick(orgsOfUser), pick(orgsOfUser)])]
    } else if (limit < 0.95) {
      const count = 1 + Math.floor(random() * 3)
      apps = [...new Set(Array.from({ length: count }, () => pick(orgsOfUser) * 2 + Math.floor(random() * 2)))]
    } else {
      const o = pick(orgsOfUser)
      orgs = [o]
      apps = [o * 2 + Math.floor(random() * 2)]
    }
    yield { user, mode, orgs, apps, enabled: random() >= 0.02, expires: random() < 0.1 }
  }
}

/** May key `k` read the verify app (enabled, within its limits; every user reads org 0)? */
const readsVerifyApp = (k: KeySettings) =>
  k.enabled && (k.orgs.length === 0 || k.orgs.includes(0)) && (k.apps.length === 0 || k.apps.includes(0))

export interface WidePlan {
  /** Indices of the keys of scenario (a) on the wide database: each reads the verify app. */
  hot: number[]
  /** Indices of the keys scenario (f) rotates over, none of them hot, spread over the id range. */
  rotation: number[]
  /** The listed user's keys by index, newest (highest id) first. */
  listed: number[]
  /** Each writer's key index (key i is writer i's). */
  writers: number[]
}

/** Which keys each scenario uses: a fixed choice among the keys that read the verify app. */
export function planWide(): WidePlan {
  const eligible: number[] = []
  let i = 0
  for (const k of keySettings()) {
    if (k.user > WRITERS && readsVerifyApp(k)) eligible.push(i)
    i++
  }
  // A fixed shuffle (Fisher-Yates); the first HOT_KEYS are hot, the next WIDE_ROTATION rotate.
  const random = prng(7)
  for (let j = eligible.length - 1; j > 0; j--) {
    const r = Math.floor(random() * (j + 1))
    ;[eligible[j], eligible[r]] = [eligible[r]!, eligible[j]!]
  }
  const listed = Array.from({ length: LISTED_KEYS }, (_, n) => (LISTED_KEYS - 1 - n) * (WIDE_KEYS / LISTED_KEYS))
  return {
    hot: eligible.slice(0, HOT_KEYS),
    rotation: eligible.slice(HOT_KEYS, HOT_KEYS + WIDE_ROTATION),
    listed,
    writers: Array.from({ length: WRITERS }, (_, n) => n + 1),
  }
}

/** Seeds a migrated, empty database file. */
function seedInto(file: string, now: Date): void {
  const at = now.toISOString()
  const expiresAt = new Date(now.getTime() + 10 * 365 * 86_400_000).toISOString()
  const db = new Database(file, { strict: true })
  try {
    // Nothing here needs to survive a crash: a failed seed is thrown away.
    db.run('PRAGMA synchronous = OFF')
    db.run('PRAGMA cache_size = -1000000')
    db.transaction(() => {
      const insertUser = db.prepare('INSERT INTO users (id, email, name, created_at) VALUES (?, ?, ?, ?)')
      for (let u = 0; u < WIDE_USERS; u++) insertUser.run(wideUserId(u), `wide${u}@example.com`, `Wide user ${u}`, at)
      const insertOrg = db.prepare('INSERT INTO orgs (id, name, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
      for (let o = 0; o < WIDE_ORGS; o++) insertOrg.run(wideOrgId(o), `Wide org ${o}`, wideUserId(o), at, at)
      const insertMember = db.prepare('INSERT INTO org_members (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)')
      for (let u = 0; u < WIDE_USERS; u++) for (const [o, role] of orgsOf(u)) insertMember.run(wideOrgId(o), wideUserId(u), role, at)
      const insertApp = db.prepare('INSERT INTO apps (app_id, org_id, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
      for (let a = 0; a < WIDE_APPS; a++) insertApp.run(wideAppId(a), wideOrgId(orgOfApp(a)), `Wide app ${a}`, at, at)
      const insertKey = db.prepare(
        `INSERT INTO apikeys (id, user_id, name, mode, limited_to_apps, limited_to_orgs, key_hash, key_start, created_at, updated_at, expires_at, enabled)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      let i = 0
      for (const k of keySettings()) {
        const key = wideKey(i)
        insertKey.run(
          i + 1, wideUserId(k.user), `wide key ${i}`, k.mode, JSON.stringify(k.apps.map(wideAppId)), JSON.stringify(k.orgs.map(wideOrgId)),
          hashKey(key), keyStart(key), at, at, k.expires ? expiresAt : null, k.enabled ? 1 : 0,
        )
        i++
      }
      // The listed user's log: one event a little under every 35 seconds over the last 400 days.
      const insertEvent = db.prepare(
        `INSERT INTO audit_events (at, user_id, actor_key_id, action, target_type, target_id, ip, user_agent, details)
         VALUES (?, ?, 1, 'apikey.update', 'apikey', ?, '203.0.113.7', 'bench', ?)`,
      )
      const start = now.getTime() - 400 * 86_400_000
      const step = (400 * 86_400_000) / AUDIT_EVENTS
      for (let e = 0; e < AUDIT_EVENTS; e++) {
        const target = (e % LISTED_KEYS) * (WIDE_KEYS / LISTED_KEYS) + 1
        insertEvent.run(new Date(start + e * step).toISOString(), wideUserId(LISTED_USER), String(target), `{"changed":["name"],"name":"wide key ${target - 1}"}`)
      }
    })()
    db.run('PRAGMA wal_checkpoint(TRUNCATE)')
  } finally {
    db.close()
  }
}

/** The cache file's name: a hash of what decides its content (the schema and this seed). */
function cacheName(root: string): string {
  const hash = createHash('sha256')
  const migrations = join(root, 'migrations')
  for (const name of readdirSync(migrations).sort()) hash.update(name).update(readFileSync(join(migrations, name)))
  hash.update(readFileSync(import.meta.path))
  return `wide-${hash.digest('hex').slice(0, 16)}.db`
}

export const BENCH_CACHE_DIR = process.env.BENCH_CACHE_DIR || join(tmpdir(), 'codepushgo-bench-cache')

/**
 * Puts a copy of the wide database in `dataDir` (which must not hold one yet), seeding the
 * cached file first when there is none. `migrate` migrates an empty data directory (the
 * binary's `migrate`). Returns how long the seeding took (0 when the cache had it) and the copy.
 */
export function wideDatabase(root: string, dataDir: string, migrate: (dir: string) => void): { seededMs: number; copiedMs: number; bytes: number; cached: string } {
  mkdirSync(BENCH_CACHE_DIR, { recursive: true })
  const cached = join(BENCH_CACHE_DIR, cacheName(root))
  let seededMs = 0
  if (!existsSync(cached)) {
    const started = performance.now()
    const scratch = join(BENCH_CACHE_DIR, `seeding-${process.pid}`)
    rmSync(scratch, { recursive: true, force: true })
    try {
      migrate(scratch)
      seedInto(join(scratch, DATABASE_FILE), new Date())
      renameSync(join(scratch, DATABASE_FILE), cached)
    } finally {
      rmSync(scratch, { recursive: true, force: true })
    }
    seededMs = performance.now() - started
  }
  const started = performance.now()
  mkdirSync(dataDir, { recursive: true })
  copyFileSync(cached, join(dataDir, DATABASE_FILE))
  return { seededMs, copiedMs: performance.now() - started, bytes: Bun.file(cached).size, cached }
}
