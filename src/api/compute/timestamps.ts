/**
 * Timestamps as Nova's bodies carry them. Stored values are ISO-8601 UTC with milliseconds; Nova shows
 * server `created`/`updated` as `2026-11-21T09:38:55Z` (utils.isotime) but most other times as naive
 * datetimes with microseconds (`2026-11-21T09:38:55.123000`), and clients parse each field its own way.
 */

/** What the services store (Date.toISOString()); anything else goes through Date to be normalised. */
const STORED_FORMAT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function normalised(stored: string): string {
  return STORED_FORMAT.test(stored) ? stored : new Date(stored).toISOString();
}

/** `2026-11-21T09:38:55Z` */
export function isoTime(stored: string): string {
  return `${normalised(stored).slice(0, 19)}Z`;
}

/** `2026-11-21T09:38:55.123000`, or null. */
export function naiveTime(stored: string | null): string | null {
  if (stored === null) return null;
  const iso = normalised(stored);
  return `${iso.slice(0, 19)}.${iso.slice(20, 23)}000`;
}

/** Parses a client-supplied time (`changes-since`) into the stored format, or null if it is not one. */
export function parseClientTime(text: string): string | null {
  // ISO-8601 with a date and a time; a missing zone means UTC, as oslo's parse_isotime assumes.
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(text.trim())) return null;
  const withZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(text.trim()) ? text.trim() : `${text.trim()}Z`;
  const date = new Date(withZone.replace(' ', 'T'));
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}
