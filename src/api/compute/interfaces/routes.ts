/**
 * os-interface: a server's interface attachments (its ports), with Nova's rules. Attach binds the user's
 * port or makes one on a network, then asks the server's host (a call) to give the guest the NIC; if the
 * host refuses, the port is taken back. Detach asks the host to remove the NIC, then deletes the port
 * (made for the server) or unbinds it (the user's). Both need an ACTIVE, PAUSED or STOPPED server with no
 * task, not locked (Nova's check_instance_state and check_instance_lock). The tag shows from 2.70 and may
 * be given from 2.49.
 */
import type { FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import type { RequestContext } from '../../../common/context.ts';
import type { Db } from '../../../common/db/database.ts';
import { BadRequest, Conflict, Forbidden, NotFound, StratusError } from '../../../common/errors.ts';
import { getLogger } from '../../../common/log/logger.ts';
import { serverPortsUp } from '../../../network/port-status.ts';
import { memberNotices } from '../../../network/member-notices.ts';
import { allocateInterface, releaseInterface, type InterfaceRequest } from '../../../conductor/network-allocation.ts';
import { OverQuota } from '../../../network/errors.ts';
import { findPort, portAddresses } from '../../../network/server-ports.ts';
import { buildNetworkInfo, remoteGroupsFor } from '../../../network/network-info.ts';
import { instanceNics } from '../../../objects/instance-networks.ts';
import { startAction } from '../../../objects/instance-actions.ts';
import { instancePayload } from '../../../objects/instance-payload.ts';
import type { Instance } from '../../../objects/instances.ts';
import { VmState } from '../../../wire/messages/instance-states.ts';
import type { ApiServer } from '../../http/create-server.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { atLeast } from '../microversion.ts';
import { assertActionAllowed } from '../servers/actions.ts';
import { findServerFor } from '../servers/lookup.ts';
import {
  checkInterfaceNetwork,
  checkInterfacePort,
  checkInterfacePortQuota,
  PORT_LIMIT_EXCEEDED,
} from './attach-checks.ts';
import { validateBody } from '../validate.ts';

const log = getLogger('api.compute.interfaces');

/** Nova's states for attach and detach; the action's name is what its 409 says. */
const interfaceRule = (name: string) => ({
  name,
  action: name,
  vmStates: [VmState.ACTIVE, VmState.PAUSED, VmState.STOPPED],
  taskStates: [null],
  needsHost: true,
  setTask: '',
});

interface AttachBody {
  interfaceAttachment?: {
    net_id?: string;
    port_id?: string;
    fixed_ips?: { ip_address: string }[];
    tag?: string;
  };
}

function attachSchema(request: FastifyRequest): TSchema {
  const properties: Record<string, TSchema> = {
    net_id: Type.Optional(Type.String({ format: 'uuid' })),
    port_id: Type.Optional(Type.String({ format: 'uuid' })),
    fixed_ips: Type.Optional(
      Type.Array(
        Type.Object(
          { ip_address: Type.String({ anyOf: [{ format: 'ipv4' }, { format: 'ipv6' }] }) },
          {
            additionalProperties: false,
          },
        ),
        { minItems: 1, maxItems: 1 },
      ),
    ),
  };
  if (atLeast(request, '2.49')) {
    properties['tag'] = Type.Optional(Type.String({ minLength: 1, maxLength: 60, pattern: '^[^,/]*$' }));
  }
  return Type.Object(
    { interfaceAttachment: Type.Optional(Type.Object(properties, { additionalProperties: false })) },
    { additionalProperties: false },
  );
}

export function registerInterfaceRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;

  app.get<{ Params: { id: string } }>('/servers/:id/os-interface', async (request) => {
    const instance = await findServerFor(
      db,
      request.ctx,
      request.params.id,
      'os_compute_api:os-attach-interfaces:list',
    );
    const ports = await db.selectFrom('ports').select('id').where('device_id', '=', instance.uuid).execute();
    const tags = await tagsOf(db, instance.uuid);
    const views = await Promise.all(ports.map((p) => attachmentView(db, request, p.id, tags)));
    return { interfaceAttachments: views };
  });

  app.get<{ Params: { id: string; port_id: string } }>('/servers/:id/os-interface/:port_id', async (request) => {
    const instance = await findServerFor(
      db,
      request.ctx,
      request.params.id,
      'os_compute_api:os-attach-interfaces:show',
    );
    return { interfaceAttachment: await attachedView(db, request, instance, request.params.port_id) };
  });

  app.post<{ Params: { id: string } }>('/servers/:id/os-interface', async (request) => {
    // No body asks for any network; a JSON null is not an object and is refused, as Nova's schema does.
    const body = validateBody<AttachBody>(attachSchema(request), request.body === undefined ? {} : request.body);
    const instance = await findServerFor(
      db,
      request.ctx,
      request.params.id,
      'os_compute_api:os-attach-interfaces:create',
    );
    assertActionAllowed(instance, { ...interfaceRule('attach_interface') }, request.ctx.isAdmin);
    const wanted = await interfaceRequest(db, request.ctx, instance, body.interfaceAttachment ?? {});
    const portId = await attach(deps, request.ctx, instance, wanted);
    return { interfaceAttachment: await attachedView(db, request, instance, portId) };
  });

  app.delete<{ Params: { id: string; port_id: string } }>(
    '/servers/:id/os-interface/:port_id',
    async (request, reply) => {
      const instance = await findServerFor(
        db,
        request.ctx,
        request.params.id,
        'os_compute_api:os-attach-interfaces:delete',
      );
      assertActionAllowed(instance, { ...interfaceRule('detach_interface') }, request.ctx.isAdmin);
      const portId = request.params.port_id;
      const port = await findPort(db, portId);
      if (!port || port.device_id !== instance.uuid) throw new NotFound(`Port ${portId} is not attached`);
      const [vif] = await buildNetworkInfo(db, [portId], { remoteGroups: await remoteGroupsFor(deps.compute) });
      await startAction(db, request.ctx, instance.uuid, 'detach_interface');
      try {
        await deps.compute.detachInterface(request.ctx, instance.host!, instancePayload(instance), vif!);
      } catch (err) {
        throw hostRefusal(err, `Failed to detach network adapter device from ${instance.uuid}`);
      }
      const left = await releaseInterface(db, instance.uuid, portId);
      await memberNotices(db, deps.compute).groupsChanged(request.ctx, left);
      void reply.code(202);
    },
  );
}

/** What the body asks for, checked as Nova does (its codes differ from create's). */
async function interfaceRequest(
  db: Db,
  ctx: RequestContext,
  instance: Instance,
  asked: NonNullable<AttachBody['interfaceAttachment']>,
): Promise<InterfaceRequest> {
  const tag = asked.tag ?? null;
  if (asked.net_id && asked.port_id) throw new BadRequest('Must not input both network_id and port_id');
  const fixedIp = asked.fixed_ips?.[0]?.ip_address ?? null;
  if (fixedIp && !asked.net_id) throw new BadRequest('Must input network_id when request IP address');
  if (asked.port_id) {
    await checkInterfacePort(db, ctx, instance, asked.port_id);
    return { portId: asked.port_id, tag };
  }
  const networkId = await checkInterfaceNetwork(db, ctx, asked.net_id ?? null, fixedIp);
  await checkInterfacePortQuota(db, instance.project_id);
  // A port made for the server gets the groups its first made port got (the server's groups).
  const made = (await instanceNics(db, instance.uuid)).find((n) => !n.preserve_on_delete);
  return { networkId, fixedIp, tag, securityGroups: made?.security_groups ?? ['default'] };
}

async function attach(
  deps: ComputeApiDeps,
  ctx: RequestContext,
  instance: Instance,
  wanted: InterfaceRequest,
): Promise<string> {
  const db = deps.database.db;
  const target = {
    uuid: instance.uuid,
    project_id: instance.project_id,
    availability_zone: instance.availability_zone,
  };
  const portId = await allocateInterface(db, target, instance.host!, wanted).catch((err: unknown) => {
    // Another port took the last of the quota since the check: the network service's refusal, as Nova's.
    throw err instanceof OverQuota ? new Forbidden(PORT_LIMIT_EXCEEDED) : err;
  });
  await startAction(db, ctx, instance.uuid, 'attach_interface');
  try {
    const [vif] = await buildNetworkInfo(db, [portId], { remoteGroups: await remoteGroupsFor(deps.compute) });
    await deps.compute.attachInterface(ctx, instance.host!, instancePayload(instance), vif!);
  } catch (err) {
    log.warn({ instance: instance.uuid, port: portId, err: (err as Error).message }, 'attach refused; port taken back');
    await releaseInterface(db, instance.uuid, portId);
    throw hostRefusal(err, `Failed to attach network adapter device to ${instance.uuid}`);
  }
  // The host answered once the port was plugged and the guest had its NIC: the port is up.
  await serverPortsUp(db, instance.uuid, [portId]);
  // A port made here joined its groups (a user's port was a member already: nothing new to tell).
  if (!('portId' in wanted)) await memberNotices(db, deps.compute).portsChanged(ctx, [portId]);
  return portId;
}

/** A host's refusal: its state conflict as Nova's 409, anything else as Nova's 500 for the operation. */
function hostRefusal(err: unknown, message: string): Error {
  if (err instanceof StratusError && err.status === 409) return new Conflict(err.message);
  return new InterfaceOperationFailed(message);
}

class InterfaceOperationFailed extends StratusError {
  override readonly status = 500;
}

async function tagsOf(db: Db, uuid: string): Promise<Map<string, string | null>> {
  const nics = await instanceNics(db, uuid);
  return new Map(nics.flatMap((n) => (n.port_id ? [[n.port_id, n.tag] as const] : [])));
}

/** One attachment, 404 when the server has no such port (Nova's words). */
async function attachedView(
  db: Db,
  request: FastifyRequest,
  instance: Instance,
  portId: string,
): Promise<Record<string, unknown>> {
  const port = await findPort(db, portId);
  if (!port) throw new NotFound(`Port id ${portId} could not be found.`);
  if (port.device_id !== instance.uuid) {
    throw new NotFound(`Instance ${instance.uuid} does not have a port with id ${portId}`);
  }
  return attachmentView(db, request, portId, await tagsOf(db, instance.uuid));
}

async function attachmentView(
  db: Db,
  request: FastifyRequest,
  portId: string,
  tags: Map<string, string | null>,
): Promise<Record<string, unknown>> {
  const [port, addresses, status] = await Promise.all([
    findPort(db, portId),
    portAddresses(db, portId),
    db.selectFrom('ports').select('status').where('id', '=', portId).executeTakeFirst(),
  ]);
  const view: Record<string, unknown> = {
    net_id: port!.network_id,
    port_id: portId,
    mac_addr: port!.mac_address,
    port_state: status?.status ?? 'DOWN',
    fixed_ips: addresses.map((a) => ({ subnet_id: a.subnet_id, ip_address: a.ip_address })),
  };
  if (atLeast(request, '2.70')) view['tag'] = tags.get(portId) ?? null;
  return view;
}
