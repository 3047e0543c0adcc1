import { ConfigError, resolveDir, resolveKeyPolicy } from '../config'
import { closeDatabase } from '../db/database'
import { createUser } from '../modules/user/service'
import { parseFlags, type Command } from './args'
import { openCore } from './open'

const help = `Usage: codepushgo user create --email EMAIL [--name NAME] [--org ORG_NAME] [--dir DIR]
       codepushgo user list [--dir DIR]

  create  Creates a user, an org they own (role "all") and an \`all\` API key, and prints
          them as JSON on stdout. The full key is shown only this once.
  list    Prints every user as JSON on stdout.

Options:
  --email EMAIL     the user's email (unique, case-insensitive)
  --name NAME       display name (default: the part of the email before @)
  --org ORG_NAME    name of the user's org (default: "<name>'s organization")
  --dir DIR         data directory (env CODEPUSHGO_DIR, default ./codepushgo_data)
  -h, --help        show this help

With CODEPUSHGO_MAX_KEY_LIFETIME_DAYS set, the new key expires after that many days.
`

export const user: Command = {
  help,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, {
      email: { type: 'string' },
      name: { type: 'string' },
      org: { type: 'string' },
      dir: { type: 'string' },
    })
    const action = positionals[0]
    if (action !== 'create' && action !== 'list') throw new ConfigError(`unknown user command "${action ?? ''}": try "codepushgo user --help"`)
    if (action === 'create' && !values.email) throw new ConfigError('user create needs --email EMAIL')
    const core = openCore(resolveDir(values.dir), resolveKeyPolicy({}))
    try {
      const result =
        action === 'list'
          ? { data: core.store.users.list() }
          : createUser(core, { email: values.email!, name: values.name, orgName: values.org })
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
      return 0
    } finally {
      closeDatabase(core.store.db)
    }
  },
}
