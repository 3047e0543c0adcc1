/**
 * Writes acting for a request's principal (SPEC §6). A request is admitted before its body is
 * read, so its write runs a while after the key got in: inside the write transaction the key
 * and its user's memberships are read again, and a key revoked, disabled or narrowed meanwhile
 * (and answered so) writes nothing after that answer.
 */
import type { Core } from '../core'
import { conflict } from '../errors'
import type { ReadModel } from '../read-model/read-model'
import type { Tx } from '../store/types'
import { checkStanding, expiryMs } from './authenticate'
import type { Mode } from './modes'
import type { Principal } from './principal'

/** What a principal's write works with: the transaction, and the read model's questions asked of it afresh. */
export interface PrincipalTx {
  tx: Tx
  fresh: ReadModel
}

/**
 * Runs `work` in a write transaction once the principal is admitted as it was; settles after
 * the commit. Where the read model provably still holds the principal as the transaction
 * would read it (SQLite, nothing changed since), only time is checked again: the reads cost
 * a sixth of a key write (docs/performance.md, "Writes").
 */
export function writeAs<T>(core: Core, principal: Principal, work: (at: PrincipalTx) => Promise<T>): Promise<T> {
  return core.store.write(async (tx) => {
    const at = { tx, fresh: core.readModel.uncached(tx) }
    const pending = core.store.pendingChanges()
    if (pending !== null && core.readModel.stillHolds(principal, pending)) checkStanding(core, principal)
    else await stillAdmitted(core, at, principal)
    return work(at)
  })
}

/**
 * Throws the 401 the key would get now, or a 409 when what it may do changed since it got in:
 * its own terms, its effective expiry (a key policy that came into force meanwhile) or its
 * user's memberships, all read in the transaction.
 */
async function stillAdmitted(core: Core, { tx, fresh }: PrincipalTx, principal: Principal): Promise<void> {
  const now = await tx.apikeys.findById(principal.keyId)
  const life = now && (await fresh.keyExpiry(now))
  checkStanding(core, now && { enabled: now.enabled, expiresAtMs: expiryMs(life) })
  // Gone, checkStanding has thrown.
  const { mode, limited_to_apps, limited_to_orgs, rate_limit } = now!
  const same =
    mode === principal.mode &&
    life === principal.expiresAt &&
    JSON.stringify([limited_to_apps, limited_to_orgs, rate_limit]) ===
      JSON.stringify([principal.limits.limited_to_apps, principal.limits.limited_to_orgs, principal.ownRateLimit]) &&
    sameRoles(await fresh.memberships(principal.userId), principal.memberships)
  if (!same) throw conflict('The calling API key was changed while this request waited; send it again')
}

function sameRoles(a: ReadonlyMap<string, Mode>, b: ReadonlyMap<string, Mode>): boolean {
  return a.size === b.size && [...a].every(([org, role]) => b.get(org) === role)
}
