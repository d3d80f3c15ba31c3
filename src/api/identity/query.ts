/** Query-string conventions of Keystone. */

/**
 * A boolean filter or flag: `?nocatalog` (no value) and `?enabled=true` are true; `0`, `false`, `no` and
 * `off` are false; absent is undefined.
 */
export function queryFlag(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  return !['0', 'false', 'no', 'off'].includes(value.toLowerCase());
}
