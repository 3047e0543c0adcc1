/** A database that cannot be used is a 503 `database_unavailable`, not a crash or a 500 (SPEC §11). */
import { describe, expect, spyOn, test } from 'bun:test'
import { DatabaseDeadlineError } from '../src/store/database-errors'
import { seededWorld } from './helpers/world'

/** A store call failing as PostgreSQL's do when the server is away (SQLite's reads answer at once: so do their failures). */
const gone = () => Promise.reject(new DatabaseDeadlineError(5_000))
const goneAtOnce = () => {
  throw new DatabaseDeadlineError(5_000)
}

describe('while the database cannot be used', () => {
  test('/health says so with 503; every request the store fails is a 503 in the envelope, logged once a second', async () => {
    const w = await seededWorld()
    const before = (await w.snapshot())
    const spies = [
      spyOn(w.store, 'ping').mockImplementation(gone),
      spyOn(w.store, 'write').mockImplementation(gone),
      spyOn(w.store.apikeys, 'findByHash').mockImplementation(w.store.backend === 'sqlite' ? goneAtOnce : gone),
    ]
    try {
      const health = await w.request('GET', '/health')
      expect(health.status).toBe(503)
      expect(health.json).toEqual({ status: 'error', version: 'test', db: 'error' })

      // A key the read model has not met yet must be looked up; a write must be written.
      for (const [method, path, body] of [
        ['GET', '/apikey/', undefined],
        ['POST', '/apikey/', { name: 'new', mode: 'read' }],
      ] as const) {
        const res = await w.request(method, path, { key: w.bob.key, body })
        expect(`${res.status} ${res.text}`).toStartWith('503 ')
        expect(res.json).toEqual({ error: 'The database is unavailable; retry later', status: 'KO', code: 'database_unavailable' })
        expect(res.text).not.toContain('DatabaseDeadlineError')
        expect(res.text).not.toContain('at ')
      }
      expect(w.logs.filter((line) => line.includes('"database unavailable"'))).toHaveLength(1)
      expect(w.logs.join('\n')).not.toContain('unhandled error')
    } finally {
      for (const spy of spies) spy.mockRestore()
    }
    // Back: the same requests work, and nothing was changed meanwhile.
    expect((await w.snapshot())).toEqual(before)
    expect((await w.request('GET', '/health')).status).toBe(200)
    expect((await w.request('GET', '/apikey/', { key: w.bob.key })).status).toBe(200)
  })

  test('any other failure of the store stays a logged 500', async () => {
    const w = await seededWorld()
    const spy = spyOn(w.store.apikeys, 'findByHash').mockImplementation(() => {
      throw new Error('disk on fire')
    })
    try {
      // Straight to the app: the document declares no 500, which no request should meet.
      const res = await w.app.handle(new Request('http://localhost/apikey/', { headers: { authorization: w.bob.key } }))
      const text = await res.text()
      expect(res.status).toBe(500)
      expect(JSON.parse(text).code).toBe('internal_error')
      expect(text).not.toContain('disk on fire')
      expect(w.logs.join('\n')).toContain('disk on fire')
    } finally {
      spy.mockRestore()
    }
  })
})
