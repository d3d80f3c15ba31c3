/**
 * The checks of an interface attach, with the codes Nova's os-interface gives them (they differ from a
 * create's: an unknown port or network is 404 here, a taken fixed IP 409).
 */
import type { RequestContext } from '../../../common/context.ts';
import type { Db } from '../../../common/db/database.ts';
import { BadRequest, Conflict, Forbidden, NotFound } from '../../../common/errors.ts';
import { canonicalIp } from '../../../network/ip.ts';
import { findPort, portAddresses, portsLeft } from '../../../network/server-ports.ts';
import type { Instance } from '../../../objects/instances.ts';
import {
  availableNetworks,
  fixedIpInUse,
  fixedIpProblem,
  requireSubnet,
  visibleNetwork,
} from '../servers/requested-networks.ts';

/** The user's port: theirs (an admin may use any project's only for a server of that project), free, addressed. */
export async function checkInterfacePort(
  db: Db,
  ctx: RequestContext,
  instance: Instance,
  portId: string,
): Promise<void> {
  const port = await findPort(db, portId);
  if (!port || (!ctx.isAdmin && port.project_id !== ctx.projectId)) {
    throw new NotFound(`Port id ${portId} could not be found.`);
  }
  if (port.project_id !== instance.project_id) {
    throw new BadRequest(`Port ${portId} not usable for instance ${instance.uuid}.`);
  }
  if (port.device_id) throw new Conflict(`Port ${portId} is still in use.`);
  if (!(await portAddresses(db, portId)).length) {
    throw new BadRequest(`Port ${portId} requires a FixedIP in order to be used.`);
  }
}

/** The network a new port goes on: the one named (with its fixed address free), else the project's one. */
export async function checkInterfaceNetwork(
  db: Db,
  ctx: RequestContext,
  networkId: string | null,
  fixedIp: string | null,
): Promise<string> {
  if (networkId === null) {
    const networks = await availableNetworks(db, ctx.projectId ?? '');
    if (networks.length > 1) {
      throw new BadRequest(
        'More than one possible network found. Specify network ID(s) to select which one(s) to connect to.',
      );
    }
    if (!networks.length) {
      throw new BadRequest(
        `No specific network was requested and none are available for project '${ctx.projectId ?? ''}'.`,
      );
    }
    requireSubnet(networks[0]!);
    networkId = networks[0]!.id;
  } else {
    const network = await visibleNetwork(db, ctx, networkId);
    if (!network) throw new NotFound(`Network ${networkId} could not be found.`);
    requireSubnet(network);
  }
  if (fixedIp !== null) {
    const problem = await fixedIpProblem(db, networkId, fixedIp);
    if (problem === 'invalid')
      throw new BadRequest(`Fixed IP address ${fixedIp} is not valid on network ${networkId}.`);
    if (problem) throw new Conflict(fixedIpInUse(canonicalIp(fixedIp) ?? fixedIp, problem.inUseBy));
  }
  return networkId;
}

/** Nova's 403 when the server's project has no port left for the one an attach would make. */
export const PORT_LIMIT_EXCEEDED = 'Maximum number of ports exceeded';

/**
 * The port quota, checked before a port is made for the server (its project's quota in the network
 * service), so a full quota is Nova's PortLimitExceeded rather than a failure half-way through.
 */
export async function checkInterfacePortQuota(db: Db, projectId: string): Promise<void> {
  const left = await portsLeft(db, projectId);
  if (left !== null && left.used >= left.limit) throw new Forbidden(PORT_LIMIT_EXCEEDED);
}
