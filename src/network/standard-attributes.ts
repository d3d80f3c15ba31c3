/**
 * Neutron's standard attributes, shared by every resource: timestamps in its format (seconds, `Z`) and
 * the revision number each change bumps.
 */
import type { Timestamp } from '../common/db/schema.ts';

/** `2026-12-06T21:41:47Z`: Neutron shows timestamps to the second. */
export function neutronTime(ts: Timestamp): string {
  return `${ts.slice(0, 19)}Z`;
}

export function standardAttributes(row: {
  description: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  revision_number: number;
}): { description: string; created_at: string; updated_at: string; revision_number: number } {
  return {
    description: row.description,
    created_at: neutronTime(row.created_at),
    updated_at: neutronTime(row.updated_at),
    revision_number: row.revision_number,
  };
}
