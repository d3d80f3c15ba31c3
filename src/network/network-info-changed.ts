/**
 * Telling compute hosts that guests' interfaces changed (compute contract 1.6 network_info_changed):
 * after a port's security groups, their rules or its floating IPs change, each server that owns one of
 * the ports gets its NetworkInfo as it now is, cast to its host, so the host's datapath applies it.
 * Whoever changes ports (the compute API's security group actions, the network API) calls this.
 */
import type { RequestContext } from '../common/context.ts';
import type { Db } from '../common/db/database.ts';
import { getLogger } from '../common/log/logger.ts';
import { instancePayload } from '../objects/instance-payload.ts';
import { findInstance } from '../objects/instances.ts';
import { instanceNics } from '../objects/instance-networks.ts';
import type { ComputeRpcApi } from '../wire/contracts/compute.ts';
import { buildNetworkInfo, remoteGroupsFor } from './network-info.ts';

const log = getLogger('network.changes');

/** The servers owning any of the ports (ports of compute:* owners), each once. */
export async function serversOfPorts(db: Db, portIds: readonly string[]): Promise<string[]> {
  if (!portIds.length) return [];
  const owners = await db
    .selectFrom('ports')
    .select('device_id')
    .distinct()
    .where('id', 'in', [...portIds])
    .where('device_owner', 'like', 'compute:%')
    .execute();
  return owners.map((o) => o.device_id);
}

/** Casts the current NetworkInfo of every server owning one of `portIds` to its host. Never throws. */
export async function notifyPortsChanged(
  db: Db,
  compute: ComputeRpcApi,
  ctx: RequestContext,
  portIds: readonly string[],
): Promise<void> {
  let servers: string[];
  try {
    servers = await serversOfPorts(db, portIds);
  } catch (err) {
    log.warn({ ports: portIds, err: (err as Error).message }, 'could not find the servers of changed ports');
    return;
  }
  await notifyServersChanged(db, compute, ctx, servers);
}

/**
 * Casts each server's current NetworkInfo to its host; for callers that resolved the servers before
 * the ports went away (a deleted port). Never throws: the change itself is made either way.
 */
export async function notifyServersChanged(
  db: Db,
  compute: ComputeRpcApi,
  ctx: RequestContext,
  serverUuids: readonly string[],
): Promise<void> {
  // Each server is told apart from the others: a rule of a group with many members reaches them all at
  // once instead of one cast after another.
  await Promise.all(
    [...new Set(serverUuids)].map(async (uuid) => {
      try {
        const instance = await findInstance(db, uuid);
        if (!instance?.host) return;
        const nics = await instanceNics(db, uuid);
        const ports = nics.flatMap((n) => (n.port_id ? [n.port_id] : []));
        const networkInfo = await buildNetworkInfo(db, ports, { remoteGroups: await remoteGroupsFor(compute) });
        await compute.networkInfoChanged(ctx, instance.host, instancePayload(instance), networkInfo);
      } catch (err) {
        // The host learns the interfaces again at its next start or change; the change itself is made.
        log.warn({ instance: uuid, err: (err as Error).message }, 'could not tell the host of changed interfaces');
      }
    }),
  );
}
