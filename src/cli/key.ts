import { MODES, type Mode } from '../access/modes'
import { ConfigError, resolveDatabase, resolveKeyPolicy } from '../config'
import type { Core } from '../core'
import { FOREIGN_COMMITS_POLL_MS } from '../read-model/changes'
import { issueKeyFor, listKeysOfUser, revokeKey } from '../modules/apikey/admin'
import { parseKeyId } from '../modules/apikey/validate'
import { notFound } from '../errors'
import { parseFlags, refuseFlagsOf, type Command } from './args'
import { openCore } from './open'

/**
 * How long a revocation waits before it reports success: a running server notices another
 * process's commit within FOREIGN_COMMITS_POLL_MS (src/read-model/changes.ts), so once `key revoke`
 * has answered, the very next request with the key is refused, cached or not. (Answering at
 * the commit let a request sent right after it still get in.) The margin covers timer slack.
 */
const REVOCATION_SEEN_MS = FOREIGN_COMMITS_POLL_MS + 20

const help = `Usage: codepushgo key list --email EMAIL [--dir DIR | --database-url URL]
       codepushgo key create --email EMAIL [--mode MODE] [--name NAME] [--max-key-lifetime-days N] [--dir DIR | --database-url URL]
       codepushgo key revoke ID [--dir DIR | --database-url URL]

Offline administration, for when a key is lost, leaked or expired (works while serve runs).

  list    Prints the user's keys as JSON on stdout, masked (ak_XXXXX...), newest first.
  create  Creates a key without limits for the user and prints it as JSON on stdout; the
          full key is shown only this once. For a user left without a working key: a key
          can create none that outlives it, so under a maximum key lifetime every key a
          user makes expires with the key it was made with.
  revoke  Deletes key ID (the numeric id from "key list"). It waits 0.12 s after the
          deletion before it answers, so that every running server refuses the key from
          the next request on.
  Creations and revocations are recorded in the user's audit log.

Options:
  --email EMAIL                the user whose keys to list, or to create a key for
  --mode MODE                  create: the new key's mode, read, upload, write or all (default all)
  --name NAME                  create: the new key's name (default "CLI key")
  --max-key-lifetime-days N    create: the key expires after N days
                               (CODEPUSHGO_MAX_KEY_LIFETIME_DAYS, default: what serve recorded)
  --dir DIR                    data directory (env CODEPUSHGO_DIR, default ./codepushgo_data)
  --database-url URL           the PostgreSQL database instead (env CODEPUSHGO_DATABASE_URL),
                               postgres://USER:PASSWORD@HOST:PORT/DATABASE
  -h, --help                   show this help

serve records the maximum key lifetime it enforces in the data, and this command keeps it;
given a maximum of its own (the flag or CODEPUSHGO_MAX_KEY_LIFETIME_DAYS), the stricter wins.
`

/** The user with this email, or the error that says there is none. */
async function userByEmail(core: Core, email: string): Promise<string> {
  const owner = await core.store.users.findByEmail(email)
  if (!owner) throw notFound(`No user with email ${email}`)
  return owner.id
}

export const key: Command = {
  help,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, {
      email: { type: 'string' }, mode: { type: 'string' }, name: { type: 'string' }, 'max-key-lifetime-days': { type: 'string' }, dir: { type: 'string' }, 'database-url': { type: 'string' },
    })
    const [action, id] = positionals
    if (action !== 'list' && action !== 'create' && action !== 'revoke') throw new ConfigError(`unknown key command "${action ?? ''}": try "codepushgo key --help"`)
    if (action !== 'revoke' && !values.email) throw new ConfigError(`key ${action} needs --email EMAIL`)
    if (action === 'revoke' && id === undefined) throw new ConfigError('key revoke needs the key id: codepushgo key revoke ID')
    if (action !== 'create') refuseFlagsOf('key create', values, ['mode', 'name', 'max-key-lifetime-days'])
    const mode = values.mode ?? 'all'
    if (!(MODES as readonly string[]).includes(mode)) throw new ConfigError(`--mode must be one of: ${MODES.join(', ')}`)
    const policy = resolveKeyPolicy({ 'max-key-lifetime-days': values['max-key-lifetime-days'] })
    const core = await openCore(resolveDatabase(values), policy)
    try {
      if (action === 'list') {
        process.stdout.write(`${JSON.stringify({ data: await listKeysOfUser(core, await userByEmail(core, values.email!)) }, null, 2)}\n`)
      } else if (action === 'create') {
        const apikey = await issueKeyFor(core, await userByEmail(core, values.email!), { name: values.name ?? 'CLI key', mode: mode as Mode })
        process.stdout.write(`${JSON.stringify({ apikey }, null, 2)}\n`)
      } else {
        await revokeKey(core, parseKeyId(id!))
        await Bun.sleep(REVOCATION_SEEN_MS)
        process.stdout.write(`${JSON.stringify({ success: true, revoked: Number(id) })}\n`)
      }
      return 0
    } finally {
      await core.store.close()
    }
  },
}
