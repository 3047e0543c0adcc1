import { randomString } from './random'

/** Random, prefixed identifiers for users and orgs (`usr_…`, `org_…`). */
export function newId(prefix: 'usr' | 'org'): string {
  return `${prefix}_${randomString('0123456789abcdefghijklmnopqrstuvwxyz', 16)}`
}
