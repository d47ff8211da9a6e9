/**
 * Labels GitHub adds to every self-hosted runner by itself. A job asking for them says nothing
 * about which flavor it needs, so they are stripped before matching (the payload keeps them).
 */
export const GITHUB_IMPLICIT_LABELS: readonly string[] = ['self-hosted', 'linux'];

/**
 * A job's labels, or any labels compared as a set: trimmed, lowercased, deduplicated, empty ones
 * dropped, sorted. Matching always compares these sets, so order and repeats never matter.
 */
export function normalizeLabels(labels: Iterable<string>): string[] {
  const unique = new Set<string>();
  for (const label of labels) {
    const normalized = label.trim().toLowerCase();
    if (normalized !== '') unique.add(normalized);
  }
  return [...unique].sort();
}

/**
 * A flavor's labels as they are stored and shown: trimmed and lowercased, empty ones dropped,
 * otherwise as given (order and repeats kept). Clients of the original planner compare the labels
 * they read back, as an ordered list, with the ones they sent; as a set they equal
 * `normalizeLabels` of the same input, so matching is unaffected.
 */
export function flavorLabels(labels: Iterable<string>): string[] {
  const kept: string[] = [];
  for (const label of labels) {
    const normalized = label.trim().toLowerCase();
    if (normalized !== '') kept.push(normalized);
  }
  return kept;
}

/** True when `labels` contains `wanted` as a whole label, ignoring case and surrounding space. */
export function hasLabel(labels: Iterable<string>, wanted: string): boolean {
  const target = wanted.trim().toLowerCase();
  for (const label of labels) {
    if (label.trim().toLowerCase() === target) return true;
  }
  return false;
}

/**
 * Normalised job labels without GitHub's implicit ones and any `extraImplicit` labels an
 * operator configured (for example architecture labels every runner carries).
 */
export function stripImplicitLabels(
  labels: Iterable<string>,
  extraImplicit: Iterable<string> = [],
): string[] {
  const implicit = new Set(normalizeLabels([...GITHUB_IMPLICIT_LABELS, ...extraImplicit]));
  return normalizeLabels(labels).filter((label) => !implicit.has(label));
}
