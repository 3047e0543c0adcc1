/**
 * A client generated from the served document, as a user would make one: openapi-typescript
 * writes types from the binary's /swagger/json, TypeScript compiles generated-client/calls.ts
 * (openapi-fetch, no casts) against them, and that program calls every operation of the binary.
 * openapi-typescript needs TypeScript 5: the generated-client workspace has its own, while the
 * project's TypeScript 7 compiles the program, as it does the rest of the project.
 */
import { afterAll, expect, test } from 'bun:test'
import { join, resolve } from 'node:path'
import { Resources, runCli } from './helpers/binary'

const CLIENT = resolve(import.meta.dir, 'generated-client')
const GENERATOR = join(CLIENT, 'node_modules/.bin/openapi-typescript')
const TSC = resolve(import.meta.dir, '../node_modules/.bin/tsc')

const resources = new Resources()
afterAll(() => resources.cleanup())

/** Runs a command to completion; its output says what went wrong when it fails. */
function run(command: string[]) {
  const result = Bun.spawnSync(command, { cwd: CLIENT, stdout: 'pipe', stderr: 'pipe' })
  return { exitCode: result.exitCode, output: `${result.stdout}${result.stderr}` }
}

test('a client generated from /swagger/json compiles without casts and calls every operation of the binary', async () => {
  const dir = resources.dir('codepushgo-client-')
  const user = (email: string) => JSON.parse(runCli(['user', 'create', '--email', email, '--dir', dir]).stdout)
  const { apikey } = user('client@example.com')
  user('colleague@example.com')
  const server = await resources.serve(dir)

  const document = join(dir, 'openapi.json')
  await Bun.write(document, await (await fetch(`${server.url}/swagger/json`)).text())
  const generated = run(['node', GENERATOR, document, '--output', join(CLIENT, 'generated/openapi.d.ts')])
  expect({ exitCode: generated.exitCode, output: generated.exitCode === 0 ? '' : generated.output }).toEqual({ exitCode: 0, output: '' })
  const compiled = run([TSC, '-p', CLIENT])
  expect(compiled.output).toBe('')
  expect(compiled.exitCode).toBe(0)

  // No cast, no any, no directive: in the code, comments aside.
  const code = (await Bun.file(join(CLIENT, 'calls.ts')).text()).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
  expect(code.match(/\bas\s+(?!const\b)\S+|<any>|\bany\b|@ts-\w+|!\./g)).toBeNull()

  // Imported by path, so that the project's type-check does not follow it to the generated file.
  const { callEveryOperation }: { callEveryOperation(setup: { baseUrl: string; key: string; otherUserEmail: string }): Promise<string[]> } =
    await import(join(CLIENT, 'calls.ts'))
  const called = await callEveryOperation({ baseUrl: server.url, key: apikey.key, otherUserEmail: 'colleague@example.com' })
  const operationIds = Object.values(JSON.parse(await Bun.file(document).text()).paths as Record<string, Record<string, { operationId: string }>>)
    .flatMap((item) => Object.values(item).map((operation) => operation.operationId))
  // A new operation needs a call in calls.ts: this names the ones without.
  expect(operationIds.filter((id) => !called.includes(id))).toEqual([])
  expect(called.filter((id) => !operationIds.includes(id))).toEqual([])
})
