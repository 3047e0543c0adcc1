/** The cluster part against its targets: a table for the terminal and for RESULTS.md. */
import { SCENARIOS, VERIFY_KEYS, type ClusterResult, type Scenario } from './cluster'
import { COLUMNS, cpuText, escapeCell, mark, ms, num, percentDown, pct, printTable, ratioText, statusText, summarise, type Row, type RunsSummary } from './report'

/**
 * Verify on PostgreSQL against SQLite (issue 20: served from the read model, it should cost
 * little more); and this build on SQLite against the other build (BENCH_COMPARE_BINARY): a
 * user who stays on SQLite should see the same speed, within the noise of a shared machine.
 */
export const CLUSTER_TARGETS = { postgresVerify: 0.8, sameSpeed: 0.95 }

/** A row of the small part's table (`ratio`: vs baseline), with the ratio to SQLite's run. */
interface ClusterRow extends Row {
  vsSqlite: string
}

const CLUSTER_COLUMNS: [keyof ClusterRow, string][] = [['name', 'cluster part'], COLUMNS[1]!, ['vsSqlite', 'vs SQLite'], ...COLUMNS.slice(2)]

const unexpectedOf = (summary: RunsSummary, expected: readonly number[]) =>
  Object.entries(summary.statuses).filter(([status]) => !expected.includes(Number(status))).reduce((sum, [, n]) => sum + n, 0) +
  summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout

/** The rows of the cluster part, and the targets it missed. */
export function judgeCluster(c: ClusterResult): { rows: ClusterRow[]; failures: string[] } {
  const rows: ClusterRow[] = []
  const failures: string[] = []
  const sqlite = c.targets.find((t) => t.id === 'sqlite')!
  const showRange = c.baselines.length > 1
  const base = summarise(c.baselines, c.baselines)
  rows.push({ name: 'baseline: bare Bun.serve `{"ok":true}`', rps: num(base.rps), vsSqlite: '', ratio: '100.0%', p50: ms(base.p50Ms), p99: ms(base.p99Ms), statuses: statusText(base), cpu: cpuText(base.cpu), target: '—', result: '—' })
  for (const scenario of Object.keys(SCENARIOS) as Scenario[]) {
    const { title, expected } = SCENARIOS[scenario]
    for (const target of c.targets) {
      const runs = target.runs[scenario]
      const vsBaseline = summarise(runs, c.baselines)
      const vsSqlite = summarise(runs, sqlite.runs[scenario])
      const judged = scenario === 'verify' && (target.id === 'pg1' || target.id === 'pg2')
      const why: string[] = []
      if (judged && !(vsSqlite.ratio >= CLUSTER_TARGETS.postgresVerify)) why.push(`verify ${percentDown(vsSqlite.ratio)} of SQLite's < ${pct(CLUSTER_TARGETS.postgresVerify)}`)
      const unexpected = unexpectedOf(vsBaseline, expected)
      if (unexpected > 0) why.push(`${num(unexpected)} unexpected responses/errors`)
      for (const w of why) failures.push(`cluster: ${target.name}, ${scenario}: ${w}`)
      rows.push({
        name: `${target.name}: ${title}`,
        rps: num(vsBaseline.rps),
        vsSqlite: target.id === 'sqlite' ? '100.0%' : ratioText(vsSqlite, showRange),
        ratio: ratioText(vsBaseline, showRange),
        p50: ms(vsBaseline.p50Ms),
        p99: ms(vsBaseline.p99Ms),
        statuses: statusText(vsBaseline),
        cpu: cpuText(vsBaseline.cpu),
        target: judged ? `≥ ${pct(CLUSTER_TARGETS.postgresVerify)} of SQLite` : '—',
        result: judged || unexpected > 0 ? mark(why.length === 0) : '—',
      })
    }
  }
  const other = c.targets.find((t) => t.id === 'compare')
  if (other !== undefined) {
    for (const scenario of Object.keys(SCENARIOS) as Scenario[]) {
      const mine = summarise(sqlite.runs[scenario], other.runs[scenario])
      const judged = scenario === 'verify'
      const pass = mine.ratio >= CLUSTER_TARGETS.sameSpeed
      if (judged && !pass) failures.push(`cluster: this build's SQLite ${scenario} ${percentDown(mine.ratio)} of the other build's < ${pct(CLUSTER_TARGETS.sameSpeed)}`)
      rows.push({
        name: `SQLite ${scenario}: this build against the other build`,
        rps: `${num(mine.rps)} vs ${num(summarise(other.runs[scenario], other.runs[scenario]).rps)}`,
        vsSqlite: ratioText(mine, showRange),
        ratio: '', p50: '', p99: '', statuses: '', cpu: '',
        target: judged ? `≥ ${pct(CLUSTER_TARGETS.sameSpeed)} of the other build` : '—',
        result: judged ? mark(pass) : '—',
      })
    }
  }
  for (const target of c.targets) {
    rows.push({
      name: `${target.name}: startup (spawn → first 200 on /health); peak RSS`,
      rps: target.startupMs.map((t) => `${Math.round(t)} ms`).join(', '),
      vsSqlite: target.peakRssMb.map((mb) => `${mb.toFixed(1)} MB`).join(', '),
      ratio: '', p50: '', p99: '', statuses: '', cpu: '', target: '—', result: '—',
    })
  }
  return { rows, failures }
}

/** The cluster part as a plain-text table for the terminal. Returns the failed targets. */
export function printCluster(c: ClusterResult): string[] {
  const { rows, failures } = judgeCluster(c)
  printTable(CLUSTER_COLUMNS, rows)
  return failures
}

/** The cluster part as a RESULTS.md section: how it ran, then its table. */
export function clusterMarkdown(c: ClusterResult, heading: string[], compareBinary: string | null): string[] {
  const { rows } = judgeCluster(c)
  return [
    '## Cluster part: SQLite and PostgreSQL (one and two instances), latest run',
    '',
    ...heading,
    `\`npm run bench:cluster\`: PostgreSQL ${c.postgresVersion} (a throwaway cluster, **fsync on**, over loopback TCP); ` +
      `verify rotates over ${VERIFY_KEYS} keys held by the read model; two instances share one database and are loaded at once, ` +
      'each by its own wrk with half the connections and threads (requests added up; p50 and p99 the worse of the two). ' +
      "\"vs SQLite\" is the median of the rounds' ratios to SQLite's run in the same round (range in brackets). " +
      'SQLite commits with synchronous=NORMAL in WAL mode (no disk flush per commit), PostgreSQL with a flush per commit.' +
      (compareBinary === null ? '' : ` The other build: \`${compareBinary}\`, on SQLite, in the same rounds.`),
    '',
    `| ${CLUSTER_COLUMNS.map(([, title]) => title).join(' | ')} |`,
    '|---|---:|---:|---:|---:|---:|---|---:|---|---|',
    ...rows.map((r) => `| ${CLUSTER_COLUMNS.map(([key]) => escapeCell(r[key])).join(' | ')} |`),
  ]
}
