/** Summaries of measured values, as every benchmark prints them. */

/** `value` rounded to `digits` decimals (JSON figures people compare by eye). */
export function round(value: number, digits = 2): number {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}

/** The `p`th percentile of `values` (the value at rank floor(p% of n), the highest for p = 100), rounded. */
export function percentile(values: readonly number[], p: number, digits = 2): number {
  const sorted = [...values].sort((a, b) => a - b);
  return round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!, digits);
}
