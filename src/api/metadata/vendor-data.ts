/**
 * `[api] vendordata_providers` StaticJSON: the JSON object in `vendordata_jsonfile_path`, read once at
 * start-up as Nova reads it. Nova logs an unreadable or malformed file and serves `{}`; Stratus refuses to
 * start instead, so an operator's typo does not silently hand every guest empty vendor data.
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../../common/config/load-config.ts';
import { ConfigError } from '../../common/errors.ts';

/** StaticJSON's document, or null when the provider is not enabled. */
export function loadStaticVendorData(config: Config): Record<string, unknown> | null {
  if (!config.api.vendordata_providers.includes('StaticJSON')) return null;
  const path = config.api.vendordata_jsonfile_path;
  if (!path) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`[api] vendordata_jsonfile_path ${path}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(`[api] vendordata_jsonfile_path ${path} must hold a JSON object`);
  }
  return parsed as Record<string, unknown>;
}
