import { ConfigError, resolveDir } from '../config'
import { closeDatabase } from '../db/database'
import { DATA_VERSION_CHECK_MS } from '../db/read-cache'
import { listKeysOfUser, revokeKey } from '../modules/apikey/admin'
import { parseKeyId } from '../modules/apikey/validate'
import { notFound } from '../errors'
import { parseFlags, type Command } from './args'
import { openCore } from './open'

/**
 * How long a revocation waits before it reports success: a running server notices another
 * process's commit within DATA_VERSION_CHECK_MS (src/db/read-cache.ts), so once `key revoke`
 * has answered, the very next request with the key is refused, cached or not. (Answering at
 * the commit let a request sent right after it still get in.) The margin covers timer slack.
 */
const REVOCATION_SEEN_MS = DATA_VERSION_CHECK_MS + 20

const help = `Usage: codepushgo key list --email EMAIL [--dir DIR]
       codepushgo key revoke ID [--dir DIR]

Offline administration, for when a key is lost or leaked (works while serve runs).

  list    Prints the user's keys as JSON on stdout, masked (ak_XXXXX...), newest first.
  revoke  Deletes key ID (the numeric id from "key list"). It waits 0.12 s after the
          deletion before it answers, so that a running server refuses the key from the
          next request on. The revocation is recorded in the audit log.

Options:
  --email EMAIL  the user whose keys to list
  --dir DIR      data directory (env CODEPUSHGO_DIR, default ./codepushgo_data)
  -h, --help     show this help
`

export const key: Command = {
  help,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { email: { type: 'string' }, dir: { type: 'string' } })
    const [action, id] = positionals
    if (action === 'list' && !values.email) throw new ConfigError('key list needs --email EMAIL')
    if (action === 'revoke' && id === undefined) throw new ConfigError('key revoke needs the key id: codepushgo key revoke ID')
    if (action !== 'list' && action !== 'revoke') throw new ConfigError(`unknown key command "${action ?? ''}": try "codepushgo key --help"`)
    const core = openCore(resolveDir(values.dir))
    try {
      if (action === 'list') {
        const owner = core.store.users.findByEmail(values.email!)
        if (!owner) throw notFound(`No user with email ${values.email}`)
        process.stdout.write(`${JSON.stringify({ data: listKeysOfUser(core, owner.id) }, null, 2)}\n`)
      } else {
        revokeKey(core, parseKeyId(id!))
        await Bun.sleep(REVOCATION_SEEN_MS)
        process.stdout.write(`${JSON.stringify({ success: true, revoked: Number(id) })}\n`)
      }
      return 0
    } finally {
      closeDatabase(core.store.db)
    }
  },
}
