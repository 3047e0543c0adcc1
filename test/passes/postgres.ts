/**
 * `npm test`'s second pass: the API and end-to-end suites again, on PostgreSQL
 * (TEST_BACKEND=postgres, test/helpers/backend.ts). Without PostgreSQL installed it skips with
 * a notice, and fails when CI=true (SPEC §10, §11).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** The files that run on both backends: everything a user sees through the API, the binary and nginx. */
const BOTH_BACKENDS = [
  'test/apikey.test.ts', 'test/audit.test.ts', 'test/authenticate-first.test.ts', 'test/database-unavailable.test.ts',
  'test/fuzz.test.ts', 'test/identities.test.ts', 'test/input.test.ts', 'test/key-policies.test.ts', 'test/key-rules.test.ts',
  'test/lifecycle.test.ts', 'test/observability.test.ts', 'test/organization.test.ts', 'test/paging.test.ts', 'test/permission-changes-in-flight.test.ts',
  'test/permissions.test.ts', 'test/request-path.test.ts', 'test/usage.test.ts', 'test/verify.test.ts',
  'test/e2e/binary.test.ts', 'test/e2e/nginx.test.ts',
]

/** Debian's server programs (test/helpers/postgres.ts finds them the same way), or initdb on PATH. */
const installed = (existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`))) || Bun.which('initdb') !== null

if (!installed) {
  if (process.env.CI === 'true') {
    console.error('PostgreSQL is not installed, but CI=true: .ci/run must install it')
    process.exit(1)
  }
  console.warn('\n[SKIP NOTICE] PostgreSQL is not installed: the PostgreSQL pass is skipped. Install it (see README) to run it.\n')
  process.exit(0)
}
const scratch = mkdtempSync(join(tmpdir(), 'codepushgo-pass-'))
const clusters = join(scratch, 'clusters')
const run = Bun.spawn([process.execPath, 'test', '--timeout', '60000', ...BOTH_BACKENDS, ...process.argv.slice(2)], {
  env: { ...process.env, TEST_BACKEND: 'postgres', TEST_POSTGRES_CLUSTERS: clusters },
  stdio: ['inherit', 'inherit', 'inherit'],
})
const code = await run.exited
// The clusters the run started (test/helpers/backend.ts): stopped at once, their directories removed.
for (const dir of existsSync(clusters) ? readFileSync(clusters, 'utf8').split('\n').filter(Boolean) : []) {
  const data = join(dir, 'data')
  const binDir = readdirSync('/usr/lib/postgresql').map((v) => `/usr/lib/postgresql/${v}/bin`).find((b) => existsSync(`${b}/pg_ctl`))
  if (binDir && existsSync(join(data, 'postmaster.pid'))) {
    const stop = [`${binDir}/pg_ctl`, '-D', data, 'stop', '-w', '-m', 'immediate']
    Bun.spawnSync(process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...stop] : stop, { stdout: 'ignore', stderr: 'ignore' })
  }
  rmSync(dir, { recursive: true, force: true })
}
rmSync(scratch, { recursive: true, force: true })
process.exit(code)
