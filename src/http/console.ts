/**
 * The operator console (SPEC §12): `/console` serves one page whose script and style sheet are
 * bundled from src/console/ by Bun's HTML import, served here so that every file carries the
 * console's security headers (Elysia, given the HTML import itself while a global hook exists,
 * answers the bundle's manifest as JSON).
 *
 * In the compiled binary the import is a manifest of the embedded files; under `bun run` and
 * `bun test` it is an HTMLBundle, bundled here on the first request. Asset URLs in the page are
 * made relative, so the console works behind a reverse proxy that mounts it under a sub-path.
 */
import { Elysia } from 'elysia'
import { basename } from 'node:path'
import page from '../console/index.html'
import { notFound } from '../errors'
import { CONSOLE_HEADERS } from './security-headers'

interface Asset {
  body: Blob
  type: string
}

interface ConsoleFiles {
  /** The page, with asset URLs relative to `/console/` and to `/console` (no slash). */
  page: { inDirectory: string; beside: string }
  /** Hashed file name → content. */
  assets: Map<string, Asset>
}

/** The page's asset references, emitted as `/name` (compiled) or `./name` (Bun.build), rewritten relative to `prefix`. */
function relativePage(html: string, names: Iterable<string>, prefix: string): string {
  let text = html
  for (const name of names) text = text.replaceAll(`"/${name}"`, `"${prefix}${name}"`).replaceAll(`"./${name}"`, `"${prefix}${name}"`)
  return text
}

async function bundled(): Promise<{ html: string; assets: Map<string, Asset> }> {
  const assets = new Map<string, Asset>()
  let html: string | undefined
  if (page.files) {
    // The compiled binary: the files are embedded, with their content types.
    for (const file of page.files) {
      if (file.loader === 'html') html = await Bun.file(file.path).text()
      else assets.set(basename(file.path), { body: Bun.file(file.path), type: file.headers['content-type'] })
    }
  } else {
    const build = await Bun.build({ entrypoints: [page.index], target: 'browser', naming: { entry: '[name].[ext]', chunk: '[name]-[hash].[ext]', asset: '[name]-[hash].[ext]' } })
    if (!build.success) throw new AggregateError(build.logs, 'bundling the console failed')
    for (const output of build.outputs) {
      if (output.path.endsWith('.html')) html = await output.text()
      else assets.set(basename(output.path), { body: output, type: output.type })
    }
  }
  if (html === undefined) throw new Error('the console bundle has no page')
  return { html, assets }
}

let files: Promise<ConsoleFiles> | undefined

/** The console's files, bundled (or read from the binary) once. */
function consoleFiles(): Promise<ConsoleFiles> {
  files ??= bundled().then(({ html, assets }) => ({
    page: { inDirectory: relativePage(html, assets.keys(), './'), beside: relativePage(html, assets.keys(), 'console/') },
    assets,
  }))
  return files
}

/** Hashed names: a file's content never changes under its name. */
const IMMUTABLE = 'public, max-age=31536000, immutable'

export function consolePlugin() {
  return new Elysia({ name: 'console' })
    .get(
      '/console',
      async ({ path }) => {
        const { page } = await consoleFiles()
        return new Response(path.endsWith('/') ? page.inDirectory : page.beside, {
          headers: { ...CONSOLE_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' },
        })
      },
      { detail: { hide: true } },
    )
    .get(
      '/console/:file',
      async ({ params }) => {
        const asset = (await consoleFiles()).assets.get(params.file)
        if (asset === undefined) throw notFound('Not found')
        return new Response(asset.body, { headers: { ...CONSOLE_HEADERS, 'content-type': asset.type, 'cache-control': IMMUTABLE } })
      },
      { detail: { hide: true } },
    )
}
