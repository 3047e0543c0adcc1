import { test, expect } from 'bun:test'
import { startServer, tempDir } from '/work/main/test/helpers/binary'
test('race', async () => {
  const results: string[] = []
  for (let i = 0; i < 10; i++) {
    const s = await startServer(tempDir())
    for (let j = 0; j < 5; j++) await (await fetch(s.url + '/health')).text()
    const noDelay = i % 2 === 0
    if (!noDelay) await Bun.sleep(100)
    await s.stop()
    const n = s.stdout().split('\n').filter((l) => l.includes('"method"')).length
    results.push(`${noDelay ? 'immediate' : 'after100ms'}:${n}`)
  }
  console.log(results.join(' '))
})
