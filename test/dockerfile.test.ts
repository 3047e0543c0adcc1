/**
 * There is no Docker engine here, so the Dockerfile is held to what the tests do exercise:
 * it installs and builds with the same npm scripts, and runs the binary the e2e tests run.
 */
import { expect, test } from 'bun:test'
import pkg from '../package.json'

const dockerfile = await Bun.file(new URL('../Dockerfile', import.meta.url)).text()
const runs = [...dockerfile.matchAll(/^RUN (.+)$/gm)].map((m) => m[1])

test('builds with the same commands as the tests, and copies the binary they test', () => {
  expect(runs).toEqual(['npm install --no-audit --no-fund', 'npm run build && mkdir -p -m 700 /data'])
  expect(pkg.scripts.build).toContain('--outfile dist/codepushgo')
  expect(dockerfile).toContain('COPY --from=build /src/dist/codepushgo /usr/local/bin/codepushgo')
})

test('runs as non-root, binds 0.0.0.0 inside, keeps data in the /data volume, checks health', () => {
  expect(dockerfile).toMatch(/^USER nonroot$/m)
  expect(dockerfile).toContain('CODEPUSHGO_HTTP=0.0.0.0:8090')
  expect(dockerfile).toContain('CODEPUSHGO_DIR=/data')
  expect(dockerfile).toContain('VOLUME ["/data"]')
  expect(dockerfile).toMatch(/HEALTHCHECK[^\n]*\\\n\s+CMD \["\/usr\/local\/bin\/codepushgo", "healthcheck"\]/)
})
