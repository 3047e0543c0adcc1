/** The served OpenAPI document passes `redocly lint` with the recommended rules (redocly.yaml). */
import { expect, test } from 'bun:test'
import { resolve } from 'node:path'
import { lintFromString, loadConfig } from '@redocly/openapi-core'
import { testServer } from './helpers/app'

test('redocly lint (recommended rules) finds no error in /swagger/json', async () => {
  const { request } = testServer()
  const { text } = await request('GET', '/swagger/json')
  const config = await loadConfig({ configPath: resolve(import.meta.dir, '../redocly.yaml') })
  const problems = await lintFromString({ source: text, absoluteRef: 'openapi.json', config })
  const errors = problems
    .filter((problem) => problem.severity === 'error')
    .map((problem) => `${problem.ruleId}: ${problem.message} at ${problem.location.map((where) => where.pointer).join(', ')}`)
  expect(errors).toEqual([])
})
