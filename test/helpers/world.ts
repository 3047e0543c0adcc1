/**
 * A small world seeded through the service layer: two users in separate orgs, with apps.
 *   alice: orgs `main` (apps com.alice.one, com.alice.two) and `side` (app com.alice.side)
 *   bob:   org `main` (app com.bob.one)
 */
import type { Actor, Core } from '../../src/core'
import { registerApp } from '../../src/modules/app/service'
import { createOrganization } from '../../src/modules/organization/service'
import { createUser } from '../../src/modules/user/service'
import { testServer } from './app'

function seedUser(core: Core, email: string) {
  const { user, organization, apikey } = createUser(core, { email })
  const actor: Actor = { userId: user.id, keyId: null, ip: null, userAgent: 'test' }
  return { user, org: organization, key: apikey.key, keyId: apikey.id, actor }
}

export function seededWorld(options: Parameters<typeof testServer>[0] = {}) {
  const server = testServer(options)
  const { core } = server
  const alice = seedUser(core, 'alice@example.com')
  const aliceSide = createOrganization(core, alice.actor, { name: 'Alice side' })
  const apps = {
    aliceOne: registerApp(core, alice.actor, { app_id: 'com.alice.one', name: 'One', org_id: alice.org.id }).app_id,
    aliceTwo: registerApp(core, alice.actor, { app_id: 'com.alice.two', name: 'Two', org_id: alice.org.id }).app_id,
    aliceSide: registerApp(core, alice.actor, { app_id: 'com.alice.side', name: 'Side', org_id: aliceSide.id }).app_id,
    bobOne: '',
  }
  const bob = seedUser(core, 'bob@example.com')
  apps.bobOne = registerApp(core, bob.actor, { app_id: 'com.bob.one', name: 'Bob', org_id: bob.org.id }).app_id
  const orgs = { aliceMain: alice.org.id, aliceSide: aliceSide.id, bobMain: bob.org.id }

  /** Creates a key for alice (through the API, with her admin key) and returns it whole. */
  async function aliceKey(settings: Record<string, unknown>, callerKey = alice.key) {
    const res = await server.request('POST', '/apikey/', { key: callerKey, body: { name: 'k', ...settings } })
    if (res.status !== 201) throw new Error(`could not create key: ${res.status} ${res.text}`)
    return res.json.apikey as { id: number; key: string; limited_to_apps: string[]; limited_to_orgs: string[] }
  }

  /** Every row of the tables a request could change, to compare before and after. */
  function snapshot() {
    const db = server.db
    return JSON.stringify(
      ['users', 'orgs', 'org_members', 'apps', 'apikeys', 'audit_events'].map((table) => db.query(`SELECT * FROM ${table} ORDER BY 1`).all()),
    )
  }
  return { ...server, alice, bob, orgs, apps, aliceKey, snapshot }
}
