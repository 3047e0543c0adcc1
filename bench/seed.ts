/**
 * Seeds a migrated data directory for the benchmark straight through bun:sqlite, in one
 * transaction: 100 users, 10 orgs, 100 apps, 10,000 keys. The full keys stay in memory (only
 * their hashes go to the database) and are sorted into the sets each load scenario rotates over.
 */
import { Database } from 'bun:sqlite'
import { join } from 'node:path'
import { generateKey, hashKey, keyStart } from '../src/access/key-format'
import { DATABASE_FILE } from '../src/store/sqlite/database'

export const USERS = 100
export const ORGS = 10
export const APPS = 100
export const KEYS = 10_000
/** The user of scenario (b): exactly this many keys, the first an unlimited `all` key. */
export const LISTED_USER_KEYS = 20

const MODES = ['read', 'upload', 'write', 'all'] as const
type Mode = (typeof MODES)[number]

export interface SeededKey {
  key: string
  userIndex: number
  mode: Mode
  orgs: string[]
  apps: string[]
  enabled: boolean
}

export interface Seeded {
  /** The app scenario (a) verifies read access on. */
  verifyApp: string
  /** Enabled keys whose user may read `verifyApp` and which reach it (scenario a). */
  verifyKeys: string[]
  /** Every enabled, unexpired key (scenario c: GET /app/ lists what each one reaches). */
  validKeys: string[]
  /** The unlimited `all` key of the user with exactly LISTED_USER_KEYS keys (scenario b). */
  listKey: string
  /** An unlimited `all` key of another user (scenario d creates and deletes keys with it). */
  manageKey: string
  counts: { users: number; orgs: number; apps: number; members: number; keys: number; disabled: number; expiring: number }
}

/** Small deterministic PRNG (mulberry32) so every run seeds the same shape. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const pad = (n: number) => String(n).padStart(16, '0')
export const userId = (u: number) => `usr_${pad(u)}`
export const orgId = (o: number) => `org_${pad(o)}`
export const appId = (a: number) => `com.bench.app${a}`
/** Apps 10·o … 10·o+9 belong to org o. */
const orgOfApp = (a: number) => Math.floor(a / (APPS / ORGS))

export function seed(dir: string): Seeded {
  const random = prng(20240601)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
  const now = new Date().toISOString()
  const inAMonth = new Date(Date.now() + 30 * 86_400_000).toISOString()
  const listedUser = USERS - 1
  const manageUser = 0

  // Memberships: every user is in org 0 (so many keys can read the app of scenario a), in a
  // home org (u % 10; users 0-9 created those orgs and hold `all`), and every third user in
  // one more org. The two users whose `all` keys manage keys hold `all` wherever they are.
  const members = new Map<string, Mode>() // `${org}|${user}` → role
  const userOrgs: number[][] = []
  for (let u = 0; u < USERS; u++) {
    const orgs = new Set<number>()
    const add = (o: number, role: Mode) => {
      if (orgs.has(o)) return
      orgs.add(o)
      members.set(`${o}|${u}`, u === listedUser || u === manageUser ? 'all' : role)
    }
    if (u < ORGS) add(u, 'all')
    add(u % ORGS, MODES[u % 4]!)
    add(0, MODES[(u >> 2) % 4]!)
    if (u % 3 === 0) add((u + 3) % ORGS, MODES[(u >> 1) % 4]!)
    userOrgs.push([...orgs])
  }

  // Keys: the listed user gets exactly LISTED_USER_KEYS, the other 99 share the rest round robin.
  // Every user's first key is an unlimited `all` key; the others mix modes and limits.
  const keys: SeededKey[] = []
  let expiring = 0
  const expiresAt: (string | null)[] = []
  const perUser = new Map<number, number>()
  for (let i = 0; i < KEYS; i++) {
    const u = i < LISTED_USER_KEYS ? listedUser : (i - LISTED_USER_KEYS) % (USERS - 1)
    const nth = perUser.get(u) ?? 0
    perUser.set(u, nth + 1)
    const orgsOfUser = userOrgs[u]!
    let mode: Mode = 'all'
    let orgs: string[] = []
    let apps: string[] = []
    let enabled = true
    let expires: string | null = null
    if (nth > 0) {
      const m = random()
      mode = m < 0.3 ? 'read' : m < 0.5 ? 'upload' : m < 0.7 ? 'write' : 'all'
      const limit = random()
      if (limit < 0.6) {
        // unlimited
      } else if (limit < 0.8) {
        const first = pick(orgsOfUser)
        const second = pick(orgsOfUser)
        orgs = [...new Set([first, second])].map(orgId)
      } else if (limit < 0.95) {
        const count = 1 + Math.floor(random() * 3)
        const chosen = new Set<number>()
        for (let c = 0; c < count; c++) chosen.add(pick(orgsOfUser) * (APPS / ORGS) + Math.floor(random() * (APPS / ORGS)))
        apps = [...chosen].map(appId)
      } else {
        const o = pick(orgsOfUser)
        orgs = [orgId(o)]
        apps = [appId(o * (APPS / ORGS) + Math.floor(random() * (APPS / ORGS)))]
      }
      enabled = random() >= 0.02
      if (random() < 0.1) {
        expires = inAMonth
        expiring++
      }
    }
    keys.push({ key: generateKey(), userIndex: u, mode, orgs, apps, enabled })
    expiresAt.push(expires)
  }

  const db = new Database(join(dir, DATABASE_FILE), { strict: true })
  try {
    db.run('PRAGMA foreign_keys = ON')
    db.transaction(() => {
      const insertUser = db.prepare('INSERT INTO users (id, email, name, created_at) VALUES ($id, $email, $name, $at)')
      for (let u = 0; u < USERS; u++) insertUser.run({ id: userId(u), email: `bench${u}@example.com`, name: `Bench user ${u}`, at: now })
      const insertOrg = db.prepare('INSERT INTO orgs (id, name, created_by, created_at, updated_at) VALUES ($id, $name, $by, $at, $at)')
      for (let o = 0; o < ORGS; o++) insertOrg.run({ id: orgId(o), name: `Bench org ${o}`, by: userId(o), at: now })
      const insertMember = db.prepare('INSERT INTO org_members (org_id, user_id, role, created_at) VALUES ($org, $user, $role, $at)')
      for (const [pair, role] of members) {
        const [o, u] = pair.split('|').map(Number) as [number, number]
        insertMember.run({ org: orgId(o), user: userId(u), role, at: now })
      }
      const insertApp = db.prepare('INSERT INTO apps (app_id, org_id, name, created_at, updated_at) VALUES ($id, $org, $name, $at, $at)')
      for (let a = 0; a < APPS; a++) insertApp.run({ id: appId(a), org: orgId(orgOfApp(a)), name: `Bench app ${a}`, at: now })
      const insertKey = db.prepare(
        `INSERT INTO apikeys (user_id, name, mode, limited_to_apps, limited_to_orgs, key_hash, key_start, created_at, updated_at, expires_at, enabled)
         VALUES ($user, $name, $mode, $apps, $orgs, $hash, $start, $at, $at, $expires, $enabled)`,
      )
      keys.forEach((k, i) =>
        insertKey.run({
          user: userId(k.userIndex),
          name: `bench key ${i}`,
          mode: k.mode,
          apps: JSON.stringify(k.apps),
          orgs: JSON.stringify(k.orgs),
          hash: hashKey(k.key),
          start: keyStart(k.key),
          at: now,
          expires: expiresAt[i] ?? null,
          enabled: k.enabled ? 1 : 0,
        }),
      )
    })()
    db.run('PRAGMA wal_checkpoint(TRUNCATE)')
  } finally {
    db.close()
  }

  // Scenario (a): app 0 of org 0. Every user is a member of org 0 (role ≥ read), every mode
  // may read; the key must reach org 0 and app 0.
  const verifyApp = appId(0)
  const verifyOrg = orgId(0)
  const reaches = (k: SeededKey) =>
    k.enabled && (k.orgs.length === 0 || k.orgs.includes(verifyOrg)) && (k.apps.length === 0 || k.apps.includes(verifyApp))
  const firstKeyOf = (u: number) => keys.find((k) => k.userIndex === u)!.key
  return {
    verifyApp,
    verifyKeys: keys.filter(reaches).map((k) => k.key),
    validKeys: keys.filter((k) => k.enabled).map((k) => k.key),
    listKey: firstKeyOf(listedUser),
    manageKey: firstKeyOf(manageUser),
    counts: {
      users: USERS,
      orgs: ORGS,
      apps: APPS,
      members: members.size,
      keys: keys.length,
      disabled: keys.filter((k) => !k.enabled).length,
      expiring,
    },
  }
}
