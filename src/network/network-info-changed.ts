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
import { buildNetworkInfo } from './network-info.ts';

const log = getLogger('network.changes');

/** Casts the current NetworkInfo of every server owning one of `portIds` to its host. Never throws. */
export async function notifyPortsChanged(
  db: Db,
  compute: ComputeRpcApi,
  ctx: RequestContext,
  portIds: readonly string[],
): Promise<void> {
  if (!portIds.length) return;
  const owners = await db
    .selectFrom('ports')
    .select('device_id')
    .distinct()
    .where('id', 'in', [...portIds])
    .where('device_owner', 'like', 'compute:%')
    .execute();
  for (const { device_id: uuid } of owners) {
    try {
      const instance = await findInstance(db, uuid);
      if (!instance?.host) continue;
      const nics = await instanceNics(db, uuid);
      const ports = nics.flatMap((n) => (n.port_id ? [n.port_id] : []));
      const networkInfo = await buildNetworkInfo(db, ports);
      await compute.networkInfoChanged(ctx, instance.host, instancePayload(instance), networkInfo);
    } catch (err) {
      // The host learns the interfaces again at its next start or change; the change itself is made.
      log.warn({ instance: uuid, err: (err as Error).message }, 'could not tell the host of changed interfaces');
    }
  }
}
