/**
 * os-hosts, which Nova removed at 2.43 (its parts moved to os-services and os-hypervisors): answered as
 * Nova answers below 2.43, and 404 from it.
 *
 * - GET /os-hosts: the enabled services (not the API) with their zone, `?zone=` narrowing.
 * - GET /os-hosts/{host}: the first compute node's totals and usage, then what its servers ask for in
 *   all and per project.
 * - PUT /os-hosts/{host} `status`: Nova's libvirt compute only flips a placement trait that its next
 *   resource update puts back, and answers the asked state; Stratus has no such trait, so it answers the
 *   same and changes nothing (os-services is how a host is disabled). `maintenance_mode` and the
 *   reboot/shutdown/startup actions are not supported by Nova's libvirt driver, nor by Stratus's
 *   drivers: 501, after the host was found, as Nova.
 */
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { NotFound, type StratusError } from '../../../common/errors.ts';
import { listServices } from '../../../objects/services.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../../policy.ts';
import { nodesWithUsage } from '../admin/compute-nodes.ts';
import { HIDDEN_BINARIES } from '../admin/services.ts';
import { zonesOfServices } from '../availability-zones/routes.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { NotImplemented } from '../http-errors.ts';
import { requireVersion } from '../microversion.ts';
import { COMPUTE_BINARY } from '../servers/host-state.ts';
import { queryValue, validateBody, type Query } from '../validate.ts';

const LAST_VERSION = '2.42';
const TOGGLE = Type.Unsafe<string>({
  type: 'string',
  enum: ['enable', 'disable', 'Enable', 'Disable', 'ENABLE', 'DISABLE'],
});
const UPDATE = Type.Object(
  { status: Type.Optional(TOGGLE), maintenance_mode: Type.Optional(TOGGLE) },
  { additionalProperties: false, anyOf: [{ required: ['status'] }, { required: ['maintenance_mode'] }] },
);

type HostParams = { Params: { host: string } };

/** Nova finds a host through its cell mapping first: a name no compute service has is not mapped. */
function notMapped(host: string): StratusError {
  return new NotFound(`Host '${host}' is not mapped to any cell`);
}

interface Resource {
  host: string;
  project: string;
  cpu: number;
  memory_mb: number;
  disk_gb: number;
}

export function registerHostRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;

  /** The compute service of `host`, which must exist for anything but the list. */
  const computeHost = async (host: string) => {
    const [service] = await listServices(db, { host, binary: COMPUTE_BINARY });
    if (!service) throw notMapped(host);
    return service;
  };

  app.get('/os-hosts', async (request) => {
    requireVersion(request, '2.1', LAST_VERSION);
    authorize(request.ctx, 'os_compute_api:os-hosts:list');
    const zone = queryValue(request.query as Query, 'zone');
    const services = (await listServices(db)).filter((s) => !s.disabled && !HIDDEN_BINARIES.includes(s.binary));
    const zoned = await zonesOfServices(db, deps.config, services);
    return {
      hosts: zoned
        .filter((z) => !zone || z.zone === zone)
        .map((z) => ({ host_name: z.service.host, service: z.service.topic, zone: z.zone })),
    };
  });

  app.get<HostParams>('/os-hosts/:host', async (request) => {
    requireVersion(request, '2.1', LAST_VERSION);
    authorize(request.ctx, 'os_compute_api:os-hosts:show');
    const host = request.params.host;
    await computeHost(host);
    const entry = (await nodesWithUsage(db)).find((n) => n.node.host === host);
    if (!entry) throw new NotFound(`Compute host ${host} could not be found.`);
    const instances = await db
      .selectFrom('instances')
      .select(['project_id', 'vcpus', 'memory_mb', 'root_gb', 'ephemeral_gb'])
      .where('host', '=', host)
      .where('deleted', '=', 0)
      .orderBy('id')
      .execute();
    const sum = (project: string, rows: typeof instances): Resource => ({
      host,
      project,
      cpu: rows.reduce((n, r) => n + r.vcpus, 0),
      memory_mb: rows.reduce((n, r) => n + r.memory_mb, 0),
      disk_gb: rows.reduce((n, r) => n + r.root_gb + r.ephemeral_gb, 0),
    });
    const byProject = new Map<string, typeof instances>();
    for (const row of instances) byProject.set(row.project_id, [...(byProject.get(row.project_id) ?? []), row]);
    const resources: Resource[] = [
      {
        host,
        project: '(total)',
        cpu: entry.node.vcpus,
        memory_mb: entry.node.memory_mb,
        disk_gb: entry.node.local_gb,
      },
      {
        host,
        project: '(used_now)',
        cpu: entry.vcpusUsed,
        memory_mb: entry.memoryMbUsed,
        disk_gb: entry.localGbUsed,
      },
      sum('(used_max)', instances),
      ...[...byProject].map(([project, rows]) => sum(project, rows)),
    ];
    return { host: resources.map((resource) => ({ resource })) };
  });

  app.put<HostParams>('/os-hosts/:host', async (request) => {
    requireVersion(request, '2.1', LAST_VERSION);
    const body = validateBody<{ status?: string; maintenance_mode?: string }>(UPDATE, request.body);
    authorize(request.ctx, 'os_compute_api:os-hosts:update');
    const host = request.params.host;
    const enabled = (value: string) => value.trim().toLowerCase() === 'enable';
    const result: Record<string, string> = { host };
    if (body.status !== undefined) {
      await computeHost(host);
      result['status'] = enabled(body.status) ? 'enabled' : 'disabled';
    }
    if (body.maintenance_mode !== undefined) {
      await computeHost(host);
      throw new NotImplemented();
    }
    return result;
  });

  const powerAction = (action: 'reboot' | 'shutdown' | 'startup', policy: string) => {
    app.get<HostParams>(`/os-hosts/:host/${action}`, async (request: FastifyRequest<HostParams>) => {
      requireVersion(request, '2.1', LAST_VERSION);
      authorize(request.ctx, `os_compute_api:os-hosts:${policy}`);
      await computeHost(request.params.host);
      throw new NotImplemented();
    });
  };
  powerAction('reboot', 'reboot');
  powerAction('shutdown', 'shutdown');
  powerAction('startup', 'start');
}
