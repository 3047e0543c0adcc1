/**
 * A small world seeded through the service layer: two users in separate orgs, with apps.
 *   alice: orgs `main` (apps com.alice.one, com.alice.two) and `side` (app com.alice.side)
 *   bob:   org `main` (app com.bob.one)
 */
import type { Actor, Core } from '../../src/core'
import { registerApp } from '../../src/modules/app/service'
import { createOrganization } from '../../src/modules/organization/service'
import { createUser } from '../../src/modules/user/service'
import type { Tx } from '../../src/store/types'
import { backendServer, type TestServerOptions } from './app'

async function seedUser(core: Core, email: string) {
  const { user, organization, apikey } = await createUser(core, { email })
  const actor: Actor = { userId: user.id, keyId: null, ip: null, userAgent: 'test' }
  return { user, org: organization, key: apikey.key, keyId: apikey.id, actor }
}

/** Runs `work` in a write transaction of the core's store. */
export const written = <T>(core: Core, work: (tx: Tx) => Promise<T>): Promise<T> => core.store.write(work)

export async function seededWorld(options: TestServerOptions = {}) {
  const server = await backendServer(options)
  const { core } = server
  const alice = await seedUser(core, 'alice@example.com')
  const aliceSide = await written(core, (tx) => createOrganization(core, tx, alice.actor, { name: 'Alice side' }))
  const app = (actor: Actor, app_id: string, name: string, org_id: string) =>
    written(core, async (tx) => (await registerApp(core, tx, actor, { app_id, name, org_id })).app_id)
  const apps = {
    aliceOne: await app(alice.actor, 'com.alice.one', 'One', alice.org.id),
    aliceTwo: await app(alice.actor, 'com.alice.two', 'Two', alice.org.id),
    aliceSide: await app(alice.actor, 'com.alice.side', 'Side', aliceSide.id),
    bobOne: '',
  }
  const bob = await seedUser(core, 'bob@example.com')
  apps.bobOne = await app(bob.actor, 'com.bob.one', 'Bob', bob.org.id)
  const orgs = { aliceMain: alice.org.id, aliceSide: aliceSide.id, bobMain: bob.org.id }

  /** Creates a key for alice (through the API, with her admin key) and returns it whole. */
  async function aliceKey(settings: Record<string, unknown>, callerKey = alice.key) {
    const res = await server.request('POST', '/apikey/', { key: callerKey, body: { name: 'k', ...settings } })
    if (res.status !== 201) throw new Error(`could not create key: ${res.status} ${res.text}`)
    return res.json.apikey as { id: number; key: string; limited_to_apps: string[]; limited_to_orgs: string[] }
  }

  // Onto the server itself: spreading it would read `db`, which the PostgreSQL pass refuses.
  return Object.assign(server, { alice, bob, orgs, apps, aliceKey })
}
