/**
 * The bench's replay (bench/answer.ts) records what the server answered: the answer of median
 * size, with the headers a replaying server would not set itself, and never a refusal.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { recordAnswer, typicalAnswer } from '../bench/answer'

/** Answers `authorization: <n>` with n bytes of body, and `authorization: refuse` with a 401. */
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch(request) {
    const authorization = request.headers.get('authorization')!
    if (authorization === 'refuse') return new Response('{"error":"no"}', { status: 401 })
    return new Response('x'.repeat(Number(authorization)), { headers: { 'x-size': authorization, 'content-type': 'text/plain' } })
  },
})
afterAll(() => server.stop(true))
const url = `http://127.0.0.1:${server.port}/`

describe('bench/answer.ts', () => {
  test('an answer is recorded with its status, body and own headers, not those the replay sets itself', async () => {
    const answer = await recordAnswer(url, '3')
    expect(answer.status).toBe(200)
    expect(answer.body).toBe('xxx')
    expect(answer.headers).toEqual({ 'x-size': '3', 'content-type': 'text/plain' })
    for (const name of ['date', 'content-length', 'connection', 'transfer-encoding']) expect(answer.headers).not.toHaveProperty(name)
  })

  test('the answer of median size is replayed', async () => {
    expect((await typicalAnswer(url, ['50', '1', '7', '300', '20'], [200])).body.length).toBe(20)
    expect((await typicalAnswer(url, ['4'], [200])).body.length).toBe(4)
  })

  test('an answer with a status the scenario does not expect is never replayed', async () => {
    await expect(typicalAnswer(url, ['5', 'refuse', '6'], [200])).rejects.toThrow('answered 401')
    expect((await typicalAnswer(url, ['refuse'], [401])).status).toBe(401)
  })
})
