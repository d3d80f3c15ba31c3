/**
 * os-hypervisors (admin): the compute nodes, their state (from their service's heartbeat) and, before
 * 2.88, their capacity and usage. Usage is what placement has allocated on the node, the figure the
 * scheduler works with, so it matches what the cloud will still accept.
 */
import type { FastifyRequest } from 'fastify';
import type { Config } from '../../../common/config/load-config.ts';
import type { Db } from '../../../common/db/database.ts';
import { BadRequest, NotFound, type StratusError } from '../../../common/errors.ts';
import { NotImplemented } from '../http-errors.ts';
import { isServiceUp } from '../../../objects/services.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { wantsExtension } from '../extensions.ts';
import { atLeast, requireVersion } from '../microversion.ts';
import { collectionLinks, pageParams } from '../pagination.ts';
import { boolFromString, isUuidLike, queryValue, type Query } from '../validate.ts';
import { nodesWithUsage, type NodeUsage } from './compute-nodes.ts';

type Servers = Map<string, { name: string; uuid: string }[]>;

function cpuInfo(text: string): unknown {
  if (!text) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return {};
  }
}

function hypervisorView(
  request: FastifyRequest,
  entry: NodeUsage,
  config: Config,
  detail: boolean,
  servers?: { name: string; uuid: string }[],
): Record<string, unknown> {
  const { node, service } = entry;
  const byUuid = atLeast(request, '2.53');
  const view: Record<string, unknown> = {
    id: byUuid ? node.uuid : node.id,
    hypervisor_hostname: node.hypervisor_hostname,
    state: isServiceUp(service, config.DEFAULT.service_down_time) ? 'up' : 'down',
    status: service.disabled ? 'disabled' : 'enabled',
  };
  if (detail) {
    view['hypervisor_type'] = node.hypervisor_type;
    view['hypervisor_version'] = node.hypervisor_version;
    view['host_ip'] = node.host_ip;
    view['service'] = {
      id: byUuid ? service.uuid : service.id,
      host: node.host,
      disabled_reason: service.disabled_reason,
    };
    if (atLeast(request, '2.88')) {
      // Nova's 2.88 detail reads the node's stats; null when the host never sent its uptime line.
      view['uptime'] = reportedUptime(node);
    } else {
      Object.assign(view, usageFigures(entry));
      view['cpu_info'] = atLeast(request, '2.28') ? cpuInfo(node.cpu_info) : node.cpu_info;
    }
  }
  if (detail && wantsExtension(request, 'storage-tier')) {
    view['STRATUS-EXT-STORAGE:pools'] = entry.pools.map((p) => ({
      tier: p.tier,
      capacity_gb: p.capacityGb,
      used_gb: p.usedGb,
    }));
  }
  if (servers?.length) view['servers'] = servers;
  else if (servers && atLeast(request, '2.75')) view['servers'] = [];
  return view;
}

/** The host's `uptime` line from the node's last resource report (its stats), or null. */
function reportedUptime(node: NodeUsage['node']): string | null {
  if (!node.stats) return null;
  try {
    const stats = JSON.parse(node.stats) as Record<string, unknown>;
    return typeof stats['uptime'] === 'string' ? stats['uptime'] : null;
  } catch {
    return null;
  }
}

function usageFigures(entry: NodeUsage) {
  const { node } = entry;
  return {
    vcpus: node.vcpus,
    memory_mb: node.memory_mb,
    local_gb: node.local_gb,
    vcpus_used: entry.vcpusUsed,
    memory_mb_used: entry.memoryMbUsed,
    local_gb_used: entry.localGbUsed,
    free_ram_mb: node.memory_mb - entry.memoryMbUsed,
    free_disk_gb: node.local_gb - entry.localGbUsed,
    current_workload: entry.currentWorkload,
    running_vms: entry.runningVms,
    disk_available_least: node.local_gb - entry.localGbUsed,
  };
}

async function serversByHost(db: Db, hosts: string[]): Promise<Servers> {
  const result: Servers = new Map(hosts.map((h) => [h, []]));
  if (!hosts.length) return result;
  const rows = await db
    .selectFrom('instances')
    .select(['host', 'display_name', 'uuid'])
    .where('deleted', '=', 0)
    .where('host', 'in', hosts)
    .orderBy('id')
    .execute();
  for (const row of rows) result.get(row.host!)?.push({ name: row.display_name, uuid: row.uuid });
  return result;
}

function notFound(id: string): StratusError {
  return new NotFound(`Hypervisor with ID '${id}' could not be found.`);
}

export function registerHypervisorRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;
  const maxLimit = deps.config.DEFAULT.osapi_max_limit;

  const list = async (request: FastifyRequest, detail: boolean) => {
    authorize(request.ctx, `os_compute_api:os-hypervisors:${detail ? 'list-detail' : 'list'}`);
    const query = request.query as Query;
    let nodes = await nodesWithUsage(db);
    let withServers = false;
    let paged = false;
    const byUuid = atLeast(request, '2.53');
    const pattern = byUuid ? queryValue(query, 'hypervisor_hostname_pattern') : undefined;
    if (byUuid) {
      const raw = queryValue(query, 'with_servers');
      withServers = raw !== undefined && boolFromString(raw, true, 'with_servers');
    }
    if (pattern !== undefined) {
      if (queryValue(query, 'limit') !== undefined || queryValue(query, 'marker') !== undefined) {
        throw new BadRequest(
          'Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.',
        );
      }
      nodes = nodes.filter((n) => n.node.hypervisor_hostname.includes(pattern));
      if (!nodes.length) throw new NotFound(`No hypervisor matching '${pattern}' could be found.`);
    } else if (atLeast(request, '2.33')) {
      paged = true;
      const page = pageParams(query, maxLimit);
      if (page.marker !== undefined) {
        const at = nodes.findIndex((n) => String(byUuid ? n.node.uuid : n.node.id) === page.marker);
        if (at < 0) throw new BadRequest(`marker [${page.marker}] not found`);
        nodes = nodes.slice(at + 1);
      }
      nodes = nodes.slice(0, page.limit);
    }
    const servers = withServers
      ? await serversByHost(
          db,
          nodes.map((n) => n.node.host),
        )
      : undefined;
    const body: Record<string, unknown> = {
      hypervisors: nodes.map((n) => hypervisorView(request, n, deps.config, detail, servers?.get(n.node.host))),
    };
    if (paged) {
      const last = nodes[nodes.length - 1];
      const lastId = last ? String(byUuid ? last.node.uuid : last.node.id) : undefined;
      const links = collectionLinks(
        request,
        nodes.length,
        lastId,
        detail ? 'os-hypervisors/detail' : 'os-hypervisors',
        maxLimit,
      );
      if (links.length) body['hypervisors_links'] = links;
    }
    return body;
  };
  app.get('/os-hypervisors', (request) => list(request, false));
  app.get('/os-hypervisors/detail', (request) => list(request, true));

  app.get('/os-hypervisors/statistics', async (request) => {
    requireVersion(request, '2.1', '2.87');
    authorize(request.ctx, 'os_compute_api:os-hypervisors:statistics');
    const totals = {
      count: 0,
      vcpus: 0,
      memory_mb: 0,
      local_gb: 0,
      vcpus_used: 0,
      memory_mb_used: 0,
      local_gb_used: 0,
      free_ram_mb: 0,
      free_disk_gb: 0,
      current_workload: 0,
      running_vms: 0,
      disk_available_least: 0,
    };
    for (const entry of await nodesWithUsage(db)) {
      totals.count += 1;
      for (const [key, value] of Object.entries(usageFigures(entry))) totals[key as keyof typeof totals] += value;
    }
    return { hypervisor_statistics: totals };
  });

  /** The node `id` names (its uuid from 2.53, its integer id before), or Nova's 400/404. */
  const findNode = async (request: FastifyRequest, id: string): Promise<NodeUsage> => {
    const byUuid = atLeast(request, '2.53');
    if (byUuid && !isUuidLike(id)) throw new BadRequest(`Invalid uuid ${id}`);
    if (!byUuid && !/^-?\d+$/.test(id)) throw notFound(id);
    const entry = (await nodesWithUsage(db)).find((n) => (byUuid ? n.node.uuid === id : n.node.id === Number(id)));
    if (!entry) throw notFound(id);
    return entry;
  };

  app.get<{ Params: { id: string } }>('/os-hypervisors/:id', async (request) => {
    authorize(request.ctx, 'os_compute_api:os-hypervisors:show');
    const entry = await findNode(request, request.params.id);
    const raw = atLeast(request, '2.53') ? queryValue(request.query as Query, 'with_servers') : undefined;
    const withServers = raw !== undefined && boolFromString(raw, true, 'with_servers');
    const servers = withServers ? (await serversByHost(db, [entry.node.host])).get(entry.node.host) : undefined;
    return { hypervisor: hypervisorView(request, entry, deps.config, true, servers) };
  });

  // Until 2.87 the uptime had a route of its own; 2.88 put it in the detail view.
  app.get<{ Params: { id: string } }>('/os-hypervisors/:id/uptime', async (request) => {
    requireVersion(request, '2.1', '2.87');
    authorize(request.ctx, 'os_compute_api:os-hypervisors:uptime');
    const entry = await findNode(request, request.params.id);
    // Nova asks the host, which must be up; here the host's last report answers, under the same rule.
    if (!isServiceUp(entry.service, deps.config.DEFAULT.service_down_time)) {
      throw new BadRequest(`Compute service of ${entry.node.host} is unavailable at this time.`);
    }
    const uptime = reportedUptime(entry.node);
    if (uptime === null) throw new NotImplemented();
    return { hypervisor: { ...hypervisorView(request, entry, deps.config, false), uptime } };
  });

  // Before 2.53, searching by hostname and listing servers had routes of their own.
  for (const [suffix, withServers] of [
    ['search', false],
    ['servers', true],
  ] as const) {
    app.get<{ Params: { id: string } }>(`/os-hypervisors/:id/${suffix}`, async (request) => {
      requireVersion(request, '2.1', '2.52');
      authorize(request.ctx, `os_compute_api:os-hypervisors:${suffix}`);
      const nodes = (await nodesWithUsage(db)).filter((n) => n.node.hypervisor_hostname.includes(request.params.id));
      if (!nodes.length) throw new NotFound(`No hypervisor matching '${request.params.id}' could be found.`);
      const servers = withServers
        ? await serversByHost(
            db,
            nodes.map((n) => n.node.host),
          )
        : undefined;
      return {
        hypervisors: nodes.map((n) => hypervisorView(request, n, deps.config, false, servers?.get(n.node.host))),
      };
    });
  }
}
