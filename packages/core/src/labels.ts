/**
 * Labels GitHub adds to every self-hosted runner by itself. A job asking for them says nothing
 * about which flavor it needs, so they are stripped before matching (the payload keeps them).
 */
export const GITHUB_IMPLICIT_LABELS: readonly string[] = ['self-hosted', 'linux'];

/** Labels are case-insensitive sets: trimmed, lowercased, deduplicated, empty ones dropped, sorted. */
export function normalizeLabels(labels: Iterable<string>): string[] {
  const unique = new Set<string>();
  for (const label of labels) {
    const normalized = label.trim().toLowerCase();
    if (normalized !== '') unique.add(normalized);
  }
  return [...unique].sort();
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
