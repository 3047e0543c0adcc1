/**
 * The pasted key: in memory, and in sessionStorage (this tab only, gone when it closes) when
 * the user asks to stay signed in. Never in localStorage or a cookie.
 */
const STORAGE_KEY = 'codepushgo.key'

let current: string | null = null

/** The key the console calls the API with, or null when signed out. */
export function currentKey(): string | null {
  if (current === null) {
    try {
      current = sessionStorage.getItem(STORAGE_KEY)
    } catch {
      current = null
    }
  }
  return current
}

export function remember(key: string, inThisTab: boolean): void {
  current = key
  try {
    if (inThisTab) sessionStorage.setItem(STORAGE_KEY, key)
    else sessionStorage.removeItem(STORAGE_KEY)
  } catch {
    // Storage refused (a private mode): the key stays in memory only.
  }
}

/** Signs out: the key is forgotten everywhere the console kept it. */
export function forget(): void {
  current = null
  try {
    sessionStorage.removeItem(STORAGE_KEY)
  } catch {
    // Nothing was stored.
  }
}
