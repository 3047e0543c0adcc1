/**
 * Which address a request comes from. Behind a reverse proxy every request comes from the
 * proxy, so the failed-authentication throttle would count all clients as one, and keys' last
 * use and the audit log would show the proxy. A proxy named in --trusted-proxies is believed
 * about the client it forwards for (X-Forwarded-For); nobody else is.
 */
import { BlockList, isIP } from 'node:net'

/** The proxies whose X-Forwarded-For is believed: addresses and CIDR ranges. */
export type TrustedProxies = BlockList

/**
 * Parses `10.0.0.0/8,127.0.0.1,::1` (IPv4 or IPv6, each an address or a range). Returns the
 * entry that is neither as the error, so that configuration can name it.
 */
export function parseTrustedProxies(list: string): TrustedProxies | { invalid: string } {
  const proxies = new BlockList()
  for (const raw of list.split(',')) {
    const entry = raw.trim()
    const [address = '', prefix, ...rest] = entry.split('/')
    const family = isIP(address)
    const bits = prefix === undefined ? null : /^\d{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN
    if (family === 0 || rest.length > 0 || Number.isNaN(bits) || (bits !== null && bits > (family === 4 ? 32 : 128))) return { invalid: entry }
    const type = family === 4 ? 'ipv4' : 'ipv6'
    if (bits === null) proxies.addAddress(address, type)
    else proxies.addSubnet(address, bits, type)
  }
  return proxies
}

/** Whether `address` (of family 4 or 6, as `isIP` tells) is a trusted proxy's. */
const isTrusted = (trusted: TrustedProxies, address: string, family: number) => trusted.check(address, family === 6 ? 'ipv6' : 'ipv4')

/**
 * The client's address: the socket's peer, unless the peer is a trusted proxy. Then the
 * X-Forwarded-For chain is read from its right end (the hop the proxy itself added), past
 * any further trusted proxies, to the first address that is not one: what lies left of it
 * was written by the client and proves nothing. A malformed entry ends the walk at the hop
 * after it; a chain of trusted proxies only gives its leftmost one.
 */
export function clientAddressOf(peer: string | null, forwardedFor: () => string | null, trusted: TrustedProxies | null): string | null {
  if (peer === null || trusted === null || !isTrusted(trusted, peer, isIP(peer))) return peer
  const hops = (forwardedFor() ?? '').split(',')
  let client = peer
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!.trim()
    const family = isIP(hop)
    if (family === 0) return client
    client = hop
    if (!isTrusted(trusted, hop, family)) return hop
  }
  return client
}
