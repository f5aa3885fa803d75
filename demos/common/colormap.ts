/** The heat maps' colour scale: viridis at five stops (dark blue = 0, yellow = 1), interpolated linearly. */
const STOPS: [number, number, number][] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/** The colour of `v` in [0, 1] as [r, g, b] bytes (clamped; NaN draws as 0). */
export function rgb(v: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [STOPS[i]!, STOPS[i + 1]!];
  return [0, 1, 2].map((k) => Math.round(a[k]! + (b[k]! - a[k]!) * f)) as [number, number, number];
}

/** The CSS colour of `v` in [0, 1] (clamped; NaN draws as 0). */
export function colour(v: number): string {
  const [r, g, b] = rgb(v);
  return `rgb(${r},${g},${b})`;
}
