import { ConfigError, resolveDatabase, resolveKeyPolicy } from '../config'
import { createUser } from '../modules/user/service'
import { parseFlags, refuseFlagsOf, type Command } from './args'
import { openCore } from './open'

const help = `Usage: codepushgo user create --email EMAIL [--name NAME] [--org ORG_NAME] [--max-key-lifetime-days N]
                              [--dir DIR | --database-url URL]
       codepushgo user list [--dir DIR | --database-url URL]

  create  Creates a user, an org they own (role "all") and an \`all\` API key, and prints
          them as JSON on stdout. The full key is shown only this once.
  list    Prints every user as JSON on stdout.

Options:
  --email EMAIL     the user's email (unique, case-insensitive)
  --name NAME       display name (default: the part of the email before @)
  --org ORG_NAME    name of the user's org (default: "<name>'s organization")
  --max-key-lifetime-days N
                    the new key expires after N days
                    (CODEPUSHGO_MAX_KEY_LIFETIME_DAYS, default: what serve recorded)
  --dir DIR         data directory (env CODEPUSHGO_DIR, default ./codepushgo_data)
  --database-url URL
                    the PostgreSQL database instead (env CODEPUSHGO_DATABASE_URL),
                    postgres://USER:PASSWORD@HOST:PORT/DATABASE
  -h, --help        show this help

serve records the maximum key lifetime it enforces in the data, and this command keeps it;
given a maximum of its own (the flag or CODEPUSHGO_MAX_KEY_LIFETIME_DAYS), the stricter wins.
`

export const user: Command = {
  help,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, {
      email: { type: 'string' },
      name: { type: 'string' },
      org: { type: 'string' },
      'max-key-lifetime-days': { type: 'string' },
      dir: { type: 'string' },
      'database-url': { type: 'string' },
    })
    const action = positionals[0]
    if (action !== 'create' && action !== 'list') throw new ConfigError(`unknown user command "${action ?? ''}": try "codepushgo user --help"`)
    if (action === 'create' && !values.email) throw new ConfigError('user create needs --email EMAIL')
    if (action === 'list') refuseFlagsOf('user create', values, ['email', 'name', 'org', 'max-key-lifetime-days'])
    const core = await openCore(resolveDatabase(values), resolveKeyPolicy({ 'max-key-lifetime-days': values['max-key-lifetime-days'] }))
    try {
      const result =
        action === 'list'
          ? { data: await core.store.users.list() }
          : await createUser(core, { email: values.email!, name: values.name, orgName: values.org })
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
      return 0
    } finally {
      await core.store.close()
    }
  },
}
