/**
 * A loopback TCP proxy that tests can cut: a network failure between a client and its server,
 * while the server keeps running. `cut()` closes every connection through it and holds new
 * ones (accepted, not yet forwarded: the client waits as for a slow network); `restore()`
 * forwards them and those after. Used to drop a PostgreSQL LISTEN connection on purpose.
 */
import type { Socket, TCPSocketListener } from 'bun'

interface Link {
  /** The upstream socket, once connected. */
  upstream: Socket<Link> | null
  /** Bytes from the client not yet sent upstream. */
  toUpstream: Uint8Array[]
  /** Bytes from upstream not yet sent to the client. */
  toClient: Uint8Array[]
  client: Socket<Link>
}

/** Writes what `queue` holds, keeping what the socket did not take (it asks again on drain). */
function flush(socket: Socket<Link>, queue: Uint8Array[]): void {
  while (queue.length > 0) {
    const chunk = queue[0]!
    const written = socket.write(chunk)
    if (written < chunk.length) {
      queue[0] = chunk.subarray(Math.max(written, 0))
      return
    }
    queue.shift()
  }
}

export class TcpProxy {
  private readonly links = new Set<Link>()
  private held: Link[] = []
  private open = true
  private readonly listener: TCPSocketListener<Link>

  constructor(private readonly targetPort: number, private readonly targetHost = '127.0.0.1') {
    this.listener = Bun.listen<Link>({
      hostname: '127.0.0.1',
      port: 0,
      socket: {
        open: (client) => {
          const link: Link = { upstream: null, toUpstream: [], toClient: [], client }
          client.data = link
          this.links.add(link)
          if (this.open) void this.forward(link)
          else this.held.push(link)
        },
        data: (client, chunk) => {
          const link = client.data
          link.toUpstream.push(new Uint8Array(chunk))
          if (link.upstream) flush(link.upstream, link.toUpstream)
        },
        drain: (client) => flush(client, client.data.toClient),
        close: (client) => {
          this.links.delete(client.data)
          client.data.upstream?.end()
        },
      },
    })
  }

  /** The port clients connect to instead of the target's. */
  get port(): number {
    return this.listener.port
  }

  private async forward(link: Link): Promise<void> {
    if (!this.links.has(link)) return // the client gave up while held
    const upstream = await Bun.connect<Link>({
      hostname: this.targetHost,
      port: this.targetPort,
      data: link,
      socket: {
        data: (_, chunk) => {
          link.toClient.push(new Uint8Array(chunk))
          flush(link.client, link.toClient)
        },
        drain: (socket) => flush(socket, link.toUpstream),
        close: () => void link.client.end(),
      },
    }).catch(() => null)
    if (!upstream) return void link.client.end()
    link.upstream = upstream
    flush(upstream, link.toUpstream)
  }

  /** Closes every connection through the proxy, and holds new ones until `restore`. */
  cut(): void {
    this.open = false
    for (const link of this.links) {
      link.client.end()
      link.upstream?.end()
    }
  }

  /** Forwards the held connections and every new one again. */
  restore(): void {
    this.open = true
    for (const link of this.held.splice(0)) void this.forward(link)
  }

  stop(): void {
    this.cut()
    this.listener.stop(true)
  }
}
