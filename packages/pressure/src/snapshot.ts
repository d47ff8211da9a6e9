/** Pressure per flavor name: how many runners of each flavor are wanted right now. */
export type PressureSnapshot = Record<string, number>;

/** Same flavors with the same values (key order does not matter). */
export function sameSnapshot(a: PressureSnapshot, b: PressureSnapshot): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}

/** A copy with keys in name order, so what a caller keeps is never shared with the iterator. */
export function copySnapshot(snapshot: PressureSnapshot): PressureSnapshot {
  return Object.fromEntries(
    Object.keys(snapshot)
      .sort()
      .map((key) => [key, snapshot[key] as number]),
  );
}

/** Reads one `{"<flavor>": n, ...}` object; undefined when the value is not such an object. */
export function toSnapshot(value: unknown): PressureSnapshot | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const snapshot: PressureSnapshot = {};
  for (const [key, count] of Object.entries(value)) {
    if (typeof count !== 'number' || !Number.isFinite(count)) return undefined;
    snapshot[key] = count;
  }
  return snapshot;
}

/**
 * What `watch` and `streamPressure` return: an async iterator of snapshots, for `for await`.
 * `return()` (called for you when a `for await` loop is left) stops it at once, even while it
 * is waiting for a change, and releases its connection.
 */
export interface SnapshotStream extends AsyncIterableIterator<PressureSnapshot> {
  next(): Promise<IteratorResult<PressureSnapshot, undefined>>;
  return(): Promise<IteratorResult<PressureSnapshot, undefined>>;
}
