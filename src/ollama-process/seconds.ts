/** Milliseconds as seconds with at most one decimal, for operator messages (`retrying in 2.5 s`). */
export function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}
