/**
 * What a data migration may need from the configuration `stratus-manage db sync` runs with. Without a
 * configuration (tests, tools), each is its option's default.
 */
import { OPTIONS } from '../../config/options.ts';

export interface MigrationSettings {
  /** [storage] default_tier: the tier of rows written before storage tiers (0018). */
  readonly defaultStorageTier: string;
}

export const DEFAULT_MIGRATION_SETTINGS: MigrationSettings = {
  defaultStorageTier: OPTIONS.storage.default_tier.default,
};
