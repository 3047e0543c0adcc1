/**
 * `derive(value)`, made once per value and kept as long as the value lives. Only for values
 * that are never changed once made (the shared, frozen errors): what is derived from them then
 * stays right for as long as they do.
 */
export function derivedOnce<K extends object, V>(derive: (value: K) => V): (value: K) => V {
  const kept = new WeakMap<K, V>()
  return (value) => {
    let derived = kept.get(value)
    if (derived === undefined) {
      derived = derive(value)
      kept.set(value, derived)
    }
    return derived
  }
}
