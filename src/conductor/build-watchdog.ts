/**
 * The builds no compute host will time out (`[DEFAULT] instance_build_timeout`): those never placed (the
 * scheduler's answer or the conductor's cast lost with a process that died) and those placed on a host
 * whose compute service is down or gone. A compute host that is up times its own builds
 * (compute/stuck-tasks.ts); these the conductor sets to ERROR, so no server stays in BUILD forever.
 */
import type { Db } from '../common/db/database.ts';
import { isServiceUp } from '../objects/services.ts';
import { VmState } from '../wire/messages/instance-states.ts';

export async function orphanedBuilds(
  db: Db,
  timeoutSec: number,
  serviceDownTimeSec: number,
  at = Date.now(),
): Promise<string[]> {
  const cutoff = new Date(at - timeoutSec * 1000).toISOString();
  const building = await db
    .selectFrom('instances')
    .select(['uuid', 'host'])
    .where('vm_state', '=', VmState.BUILDING)
    .where('deleted', '=', 0)
    .where('created_at', '<', cutoff)
    .execute();
  if (!building.length) return [];
  const up = await hostsUp(
    db,
    building.flatMap((i) => (i.host === null ? [] : [i.host])),
    serviceDownTimeSec,
    at,
  );
  return building.filter((i) => i.host === null || !up.has(i.host)).map((i) => i.uuid);
}

/** Which of `hosts` have a compute service that is up. */
export async function hostsUp(db: Db, hosts: string[], serviceDownTimeSec: number, at: number): Promise<Set<string>> {
  const unique = [...new Set(hosts)];
  if (!unique.length) return new Set();
  const services = await db
    .selectFrom('services')
    .select(['host', 'forced_down', 'last_seen_up'])
    .where('binary', '=', 'stratus-compute')
    .where('host', 'in', unique)
    .execute();
  return new Set(services.filter((s) => isServiceUp(s, serviceDownTimeSec, at)).map((s) => s.host));
}
