/**
 * The `[upgrade_levels]` caps of the clients a service process creates (src/wire/upgrade-levels.ts).
 * Services with a database read the service versions themselves; compute hosts ask the conductor.
 */
import type { Config } from '../common/config/load-config.ts';
import type { Database } from '../common/db/database.ts';
import { lowestServiceVersion } from '../objects/services.ts';
import type { VersionCap } from '../wire/contract.ts';
import { computeContract } from '../wire/contracts/compute.ts';
import { conductorContract } from '../wire/contracts/conductor.ts';
import { schedulerContract } from '../wire/contracts/scheduler.ts';
import type { Topic } from '../wire/service-versions.ts';
import { versionCap } from '../wire/upgrade-levels.ts';

const CONTRACTS = { compute: computeContract, conductor: conductorContract, scheduler: schedulerContract };

/** The cap of each topic for a service that reaches the database. */
export function databaseVersionCaps(config: Config, database: Database): Record<Topic, VersionCap> {
  const caps = {} as Record<Topic, VersionCap>;
  for (const topic of Object.keys(CONTRACTS) as Topic[]) {
    caps[topic] = versionCap(topic, config.upgrade_levels[topic], CONTRACTS[topic].version, (binary) =>
      lowestServiceVersion(database.db, binary),
    );
  }
  return caps;
}
