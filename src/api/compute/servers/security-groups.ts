/**
 * A server's security groups (Nova over Neutron): GET /servers/{id}/os-security-groups lists the groups
 * of the server's ports, with their ingress rules in Nova's format; the addSecurityGroup and
 * removeSecurityGroup actions add a group to (or take it from) every port of the server, then tell the
 * server's host (network_info_changed) so its firewall follows.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Db } from '../../../common/db/database.ts';
import { BadRequest, Conflict, NotFound } from '../../../common/errors.ts';
import { notifyPortsChanged } from '../../../network/network-info-changed.ts';
import { memberNotices } from '../../../network/member-notices.ts';
import { setPortSecurityGroups } from '../../../network/server-ports.ts';
import type { Instance } from '../../../objects/instances.ts';
import type { ApiServer } from '../../http/create-server.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { findServerFor } from './lookup.ts';

export function registerServerSecurityGroupRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  app.get<{ Params: { id: string } }>('/servers/:id/os-security-groups', async (request) => {
    const db = deps.database.db;
    const instance = await findServerFor(db, request.ctx, request.params.id, 'os_compute_api:os-security-groups:list');
    const bindings = await db
      .selectFrom('security_group_port_bindings as b')
      .innerJoin('ports as p', 'p.id', 'b.port_id')
      .select('b.security_group_id')
      .distinct()
      .where('p.device_id', '=', instance.uuid)
      .execute();
    const groups = await novaSecurityGroups(
      db,
      bindings.map((b) => b.security_group_id),
    );
    return {
      security_groups: groups.sort((a, b) => a.tenant_id.localeCompare(b.tenant_id) || a.name.localeCompare(b.name)),
    };
  });
}

export interface NovaSecurityGroup {
  id: string;
  name: string;
  description: string;
  tenant_id: string;
  rules: Record<string, unknown>[];
}

/** Groups in Nova's format: ingress rules only, a remote group named, else the remote CIDR. */
export async function novaSecurityGroups(db: Db, ids: readonly string[]): Promise<NovaSecurityGroup[]> {
  if (!ids.length) return [];
  const [groups, rules] = await Promise.all([
    db
      .selectFrom('security_groups')
      .selectAll()
      .where('id', 'in', [...ids])
      .execute(),
    db
      .selectFrom('security_group_rules')
      .selectAll()
      .where('security_group_id', 'in', [...ids])
      .where('direction', '=', 'ingress')
      .orderBy('created_at')
      .execute(),
  ]);
  const remoteIds = [...new Set(rules.flatMap((r) => (r.remote_group_id ? [r.remote_group_id] : [])))];
  const remotes = remoteIds.length
    ? await db.selectFrom('security_groups').select(['id', 'name', 'project_id']).where('id', 'in', remoteIds).execute()
    : [];
  return groups.map((g) => ({
    id: g.id,
    name: g.name,
    description: g.description,
    tenant_id: g.project_id,
    rules: rules
      .filter((r) => r.security_group_id === g.id)
      .flatMap((r) => {
        const remote = r.remote_group_id ? remotes.find((x) => x.id === r.remote_group_id) : undefined;
        // A rule whose remote group is gone is left out, as Nova does.
        if (r.remote_group_id && !remote) return [];
        const anyPort = r.protocol !== null && r.port_range_min === null && r.port_range_max === null;
        const tcpOrUdp = ['tcp', 'udp'].includes((r.protocol ?? '').toLowerCase());
        return [
          {
            id: r.id,
            parent_group_id: r.security_group_id,
            ip_protocol: r.protocol,
            from_port: anyPort ? (tcpOrUdp ? 1 : -1) : r.port_range_min,
            to_port: anyPort ? (tcpOrUdp ? 65535 : -1) : r.port_range_max,
            group: remote ? { name: remote.name, tenant_id: remote.project_id } : {},
            ip_range: remote ? {} : { cidr: r.remote_ip_prefix ?? '0.0.0.0/0' },
          },
        ];
      }),
  }));
}

/** The group named in an add/removeSecurityGroup body, with Nova's messages for a bad one. */
function groupName(body: unknown, action: string): string {
  const inner = (body as Record<string, unknown>)[action];
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner))
    throw new BadRequest('Missing parameter dict');
  const name = (inner as Record<string, unknown>)['name'];
  if (name === undefined) throw new BadRequest('Security group not specified');
  if (typeof name !== 'string' || name.trim() === '') throw new BadRequest('Security group name cannot be empty');
  return name;
}

/** The project's group by id, else by name; 404 as Nova, 409 when the name is ambiguous. */
async function projectGroup(db: Db, projectId: string, name: string): Promise<string> {
  const byId = await db
    .selectFrom('security_groups')
    .select('id')
    .where('id', '=', name)
    .where('project_id', '=', projectId)
    .executeTakeFirst();
  if (byId) return byId.id;
  const byName = await db
    .selectFrom('security_groups')
    .select('id')
    .where('name', '=', name)
    .where('project_id', '=', projectId)
    .execute();
  if (byName.length > 1) {
    throw new Conflict(`Multiple security_group matches found for name '${name}', use an ID to be more specific.`);
  }
  if (!byName.length) throw new NotFound(`Security group ${name} is not found for project ${projectId}`);
  return byName[0]!.id;
}

async function portsOf(db: Db, instance: Instance): Promise<{ id: string; groups: string[] }[]> {
  const ports = await db
    .selectFrom('ports')
    .select('id')
    .where('device_id', '=', instance.uuid)
    .orderBy('created_at')
    .execute();
  const ids = ports.map((p) => p.id);
  const bindings = ids.length
    ? await db.selectFrom('security_group_port_bindings').selectAll().where('port_id', 'in', ids).execute()
    : [];
  return ids.map((id) => ({ id, groups: bindings.filter((b) => b.port_id === id).map((b) => b.security_group_id) }));
}

/** POST /servers/{id}/action addSecurityGroup / removeSecurityGroup: 202 with no body. */
export async function changeServerSecurityGroup(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
  action: 'addSecurityGroup' | 'removeSecurityGroup',
): Promise<void> {
  const db = deps.database.db;
  const name = groupName(request.body, action);
  const groupId = await projectGroup(db, instance.project_id, name);
  const ports = await portsOf(db, instance);
  if (!ports.length) {
    throw new NotFound(`instance_id ${instance.uuid} could not be found as device id on any ports`);
  }
  const changed: string[] = [];
  for (const port of ports) {
    const has = port.groups.includes(groupId);
    if (action === 'addSecurityGroup' && !has) {
      await setPortSecurityGroups(db, port.id, [...port.groups, groupId]);
      changed.push(port.id);
    } else if (action === 'removeSecurityGroup' && has) {
      await setPortSecurityGroups(
        db,
        port.id,
        port.groups.filter((g) => g !== groupId),
      );
      changed.push(port.id);
    }
  }
  if (action === 'removeSecurityGroup' && !changed.length) {
    throw new NotFound(`Security group ${name} not associated with the instance ${instance.uuid}`);
  }
  await notifyPortsChanged(db, deps.compute, request.ctx, changed);
  // The group gained or lost members: the hosts of ports whose rules name it learn them.
  await memberNotices(db, deps.compute).groupsChanged(request.ctx, [groupId]);
  void reply.code(202);
}
