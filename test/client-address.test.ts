/** The client's address behind trusted reverse proxies (--trusted-proxies, X-Forwarded-For). */
import { describe, expect, test } from 'bun:test'
import { clientAddressOf, parseTrustedProxies, type TrustedProxies } from '../src/http/client-address'

const trusted = parseTrustedProxies('127.0.0.1,10.0.0.0/8,fd00::/8') as TrustedProxies

describe('parseTrustedProxies', () => {
  test.each([
    ['127.0.0.1', '127.0.0.1', true],
    ['10.0.0.0/8', '10.200.0.1', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['::1', '::1', true],
    ['fd00::/8', 'fdff::1', true],
    ['fd00::/8', 'fe80::1', false],
    [' 192.0.2.0/24 , 198.51.100.7 ', '198.51.100.7', true],
  ])('%s holds %s: %p', (list, address, held) => {
    const proxies = parseTrustedProxies(list) as TrustedProxies
    expect(proxies.check(address, address.includes(':') ? 'ipv6' : 'ipv4')).toBe(held)
  })

  test.each(['', 'nginx', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/', '10.0.0.1/8/8', '::1/129', '127.0.0.1,', '256.0.0.1'])('%p is refused, naming the entry', (list) => {
    const parsed = parseTrustedProxies(list)
    expect(parsed).toHaveProperty('invalid')
  })
})

describe('clientAddressOf', () => {
  test.each([
    ['no trusted proxies configured: the peer, whatever the header says', '127.0.0.1', '203.0.113.9', null, '127.0.0.1'],
    ['a peer that is not a trusted proxy: its header is ignored', '198.51.100.7', '203.0.113.9', trusted, '198.51.100.7'],
    ['a trusted proxy: the address it forwards for', '127.0.0.1', '203.0.113.9', trusted, '203.0.113.9'],
    ['a client-written prefix proves nothing: the rightmost untrusted hop', '127.0.0.1', '1.1.1.1, 203.0.113.9', trusted, '203.0.113.9'],
    ['through a second trusted proxy', '127.0.0.1', '203.0.113.9, 10.1.2.3', trusted, '203.0.113.9'],
    ['IPv6 clients', '127.0.0.1', '2001:db8::5', trusted, '2001:db8::5'],
    ['a trusted IPv6 proxy', 'fd00::1', '203.0.113.9', trusted, '203.0.113.9'],
    ['no header from a trusted proxy: the proxy', '127.0.0.1', null, trusted, '127.0.0.1'],
    ['an empty header: the proxy', '127.0.0.1', '', trusted, '127.0.0.1'],
    ['garbage in the last hop: the proxy', '127.0.0.1', '203.0.113.9, not-an-ip', trusted, '127.0.0.1'],
    ['garbage beyond a trusted hop: that hop', '127.0.0.1', 'junk, 10.1.2.3', trusted, '10.1.2.3'],
    ['an address with a port is not an address', '127.0.0.1', '203.0.113.9:4444', trusted, '127.0.0.1'],
    ['only trusted hops: the leftmost', '127.0.0.1', '10.0.0.2, 10.0.0.1', trusted, '10.0.0.2'],
    ['no peer (app.handle in tests)', null, '203.0.113.9', trusted, null],
  ] as const)('%s', (_, peer, header, proxies, expected) => {
    expect(clientAddressOf(peer, () => header, proxies)).toBe(expected)
  })

  test('the header is read only when the peer is a trusted proxy', () => {
    let reads = 0
    const header = () => {
      reads++
      return '203.0.113.9'
    }
    clientAddressOf('198.51.100.7', header, trusted)
    clientAddressOf('127.0.0.1', header, null)
    expect(reads).toBe(0)
    clientAddressOf('127.0.0.1', header, trusted)
    expect(reads).toBe(1)
  })
})
