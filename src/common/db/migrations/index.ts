/** The ordered list of schema migrations. Append only: a released migration is never edited. */
import type { Dialect } from '../connection-url.ts';
import type { MigrationDb } from './column-helpers.ts';
import * as initial from './0001-initial.ts';
import * as tokenIndexes from './0002-token-indexes.ts';
import * as aggregatesServerGroups from './0003-aggregates-server-groups.ts';
import * as resourceUsages from './0004-resource-usages.ts';
import * as storageTiers from './0005-storage-tiers.ts';
import * as computeNodeCapabilities from './0006-compute-node-capabilities.ts';
import * as consoleAuthTokens from './0009-console-auth-tokens.ts';
import * as diskSnapshots from './0010-disk-snapshots.ts';
import * as schedulerViewChanges from './0011-scheduler-view-changes.ts';
import * as usageLimits from './0012-usage-limits.ts';
import * as keyPairs from './0013-key-pairs.ts';
import * as quotas from './0014-quotas.ts';
import * as serverLifecycle from './0015-server-lifecycle.ts';
import * as serviceCatalog from './0016-service-catalog.ts';
import * as instanceDiskConfig from './0017-instance-disk-config.ts';
import * as requiredWireFields from './0018-required-wire-fields.ts';
import * as shelvedInstances from './0021-shelved-instances.ts';
import * as networking from './0022-networking.ts';
import * as instanceNetworks from './0024-instance-networks.ts';
import * as migrations from './0027-migrations.ts';
import * as tokenRevocationEvents from './0028-token-revocation-events.ts';
import * as moveQuota from './0029-move-quota.ts';
import * as liveMigrationProgress from './0030-live-migration-progress.ts';
import * as networkTagCollation from './0031-network-tag-collation.ts';
import type { MigrationSettings } from './settings.ts';

export interface SchemaMigration {
  readonly name: string;
  up(db: MigrationDb, dialect: Dialect, settings: MigrationSettings): Promise<void>;
}

export const MIGRATIONS: readonly SchemaMigration[] = [
  { name: '0001-initial', up: initial.up },
  { name: '0002-token-indexes', up: tokenIndexes.up },
  { name: '0003-aggregates-server-groups', up: aggregatesServerGroups.up },
  { name: '0004-resource-usages', up: resourceUsages.up },
  { name: '0005-storage-tiers', up: storageTiers.up },
  { name: '0006-compute-node-capabilities', up: computeNodeCapabilities.up },
  { name: '0009-console-auth-tokens', up: consoleAuthTokens.up },
  { name: '0010-disk-snapshots', up: diskSnapshots.up },
  { name: '0011-scheduler-view-changes', up: schedulerViewChanges.up },
  { name: '0012-usage-limits', up: usageLimits.up },
  { name: '0013-key-pairs', up: keyPairs.up },
  { name: '0014-quotas', up: quotas.up },
  { name: '0015-server-lifecycle', up: serverLifecycle.up },
  { name: '0016-service-catalog', up: serviceCatalog.up },
  { name: '0017-instance-disk-config', up: instanceDiskConfig.up },
  { name: '0018-required-wire-fields', up: (db, _dialect, settings) => requiredWireFields.up(db, settings) },
  { name: '0021-shelved-instances', up: shelvedInstances.up },
  { name: '0022-networking', up: networking.up },
  { name: '0024-instance-networks', up: instanceNetworks.up },
  { name: '0027-migrations', up: migrations.up },
  { name: '0028-token-revocation-events', up: tokenRevocationEvents.up },
  { name: '0029-move-quota', up: moveQuota.up },
  { name: '0030-live-migration-progress', up: liveMigrationProgress.up },
  { name: '0031-network-tag-collation', up: networkTagCollation.up },
];
