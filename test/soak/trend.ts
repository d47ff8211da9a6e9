/** Least-squares slope of y over x; NaN with fewer than two distinct x. */
export function slope(points: readonly { x: number; y: number }[]): number {
  const usable = points.filter((point) => Number.isFinite(point.x) && Number.isFinite(point.y));
  const n = usable.length;
  if (n < 2) return Number.NaN;
  const meanX = usable.reduce((sum, point) => sum + point.x, 0) / n;
  const meanY = usable.reduce((sum, point) => sum + point.y, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const point of usable) {
    covariance += (point.x - meanX) * (point.y - meanY);
    variance += (point.x - meanX) ** 2;
  }
  return variance === 0 ? Number.NaN : covariance / variance;
}

/** Slope of `value` per hour over the samples from the middle of `[0, end]` seconds on. */
export function slopePerHourOverSecondHalf<T>(
  samples: readonly T[],
  seconds: (sample: T) => number,
  value: (sample: T) => number,
  endSeconds: number,
): number {
  const half = samples.filter((sample) => seconds(sample) >= endSeconds / 2);
  return slope(half.map((sample) => ({ x: seconds(sample) / 3600, y: value(sample) })));
}
