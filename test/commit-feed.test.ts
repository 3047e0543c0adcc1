/**
 * The commit feed's poll (src/store/postgres/commit-feed.ts) against a stand-in for the
 * database: the counter, a LISTEN whose notifications the test sends, and an outage the test
 * switches on and off. Deterministic: waits count polls, never milliseconds.
 */
import type { SQL } from 'bun'
import { afterEach, expect, test } from 'bun:test'
import { EVERYTHING, type Change } from '../src/read-model/changes'
import { CommitFeed, noticePayloads } from '../src/store/postgres/commit-feed'
import { waitFor } from './helpers/wait'

/** What the feed talks to: a commit counter to read, and one subscription. */
function standIn() {
  const db = { counter: 0, down: false, polls: 0, notify: (_payload: string) => {} }
  const read = async () => {
    db.polls++
    if (db.down) throw new Error('connection refused')
    return [{ n: String(db.counter) }]
  }
  const sql = Object.assign(read, {
    async listen(_channel: string, onNotify: (payload: string) => void, onListen: () => void) {
      db.notify = onNotify
      onListen()
      return { unlisten: async () => {} }
    },
  }) as unknown as SQL
  return { db, sql }
}

const feeds: CommitFeed[] = []
afterEach(async () => {
  await Promise.all(feeds.splice(0).map((feed) => feed.close()))
})

/** A feed on a stand-in, subscribed and counting; the grace is so long that only the outage rule can skip it. */
async function startedFeed() {
  const { db, sql } = standIn()
  const delivered: (readonly Change[])[] = []
  const feed = new CommitFeed(sql, 'this instance', (changes) => delivered.push(changes), { pollMs: 1, graceMs: 600_000 })
  feeds.push(feed)
  await feed.start()
  delivered.length = 0 // the subscription's own clear
  const pollsAfter = async (n: number) => {
    const target = db.polls + n
    await waitFor(`${n} more polls`, () => db.polls >= target)
  }
  await pollsAfter(2)
  return { db, delivered, pollsAfter }
}

test('after a failed poll the listen connection may be down too: a commit not heard of is missed at once, without the grace', async () => {
  const { db, delivered, pollsAfter } = await startedFeed()
  db.down = true
  await pollsAfter(2)
  db.down = false
  db.counter = 1 // committed by another instance; its notification went nowhere
  await waitFor('the commit to be missed', () => delivered.length > 0, 5_000)
  expect(delivered).toEqual([[EVERYTHING]])
})

test('a notification shows the listen connection works: a commit the poll sees first waits the grace for its own', async () => {
  const { db, delivered, pollsAfter } = await startedFeed()
  db.down = true
  await pollsAfter(2)
  db.down = false
  const note: Change = { kind: 'key', hash: 'h1', userId: 'u1' }
  db.counter = 1
  db.notify(noticePayloads('another instance', 1, [note])[0]!)
  db.counter = 2 // its notification is on its way
  await pollsAfter(5)
  db.notify(noticePayloads('another instance', 2, [note])[0]!)
  expect(delivered).toEqual([[note], [note]])
})
