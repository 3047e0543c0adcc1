/**
 * The benchmark's baseline: a bare Bun.serve answering a constant small JSON body, run in its
 * own process. Prints `{"port": N}` on stdout once listening; stops on SIGTERM/SIGINT.
 */
const body = '{"ok":true}'
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch: () => new Response(body, { headers: { 'content-type': 'application/json' } }),
})
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`)
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    server.stop(true)
    process.exit(0)
  })
}
