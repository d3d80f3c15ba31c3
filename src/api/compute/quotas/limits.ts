/**
 * GET /limits: the project's quota limits under their historical names (`maxTotalInstances`...) and
 * what it uses (`totalInstancesUsed`...), by microversion as Nova shows them; no rate limits (`rate`
 * is always empty). An admin may ask for another project with `tenant_id`.
 */
import type { FastifyRequest } from 'fastify';
import { displayedUsage, effectiveLimits, type QuotaResource } from '../../../objects/quotas.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize, requireProjectScope } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { atLeast } from '../microversion.ts';
import { queryValue, type Query } from '../validate.ts';
import { checkQueryParams } from './views.ts';

/** Each absolute limit's name(s), as Nova's limits view maps them. */
const LIMIT_NAMES: readonly (readonly [QuotaResource, string])[] = [
  ['ram', 'maxTotalRAMSize'],
  ['instances', 'maxTotalInstances'],
  ['cores', 'maxTotalCores'],
  ['key_pairs', 'maxTotalKeypairs'],
  ['floating_ips', 'maxTotalFloatingIps'],
  ['metadata_items', 'maxServerMeta'],
  ['metadata_items', 'maxImageMeta'],
  ['injected_files', 'maxPersonality'],
  ['injected_file_content_bytes', 'maxPersonalitySize'],
  ['security_groups', 'maxSecurityGroups'],
  ['security_group_rules', 'maxSecurityGroupRules'],
  ['server_groups', 'maxServerGroups'],
  ['server_group_members', 'maxServerGroupMembers'],
];

const USED_NAMES: readonly (readonly [string, QuotaResource])[] = [
  ['totalRAMUsed', 'ram'],
  ['totalCoresUsed', 'cores'],
  ['totalInstancesUsed', 'instances'],
  ['totalFloatingIpsUsed', 'floating_ips'],
  ['totalSecurityGroupsUsed', 'security_groups'],
  ['totalServerGroupsUsed', 'server_groups'],
];

function hiddenResources(request: FastifyRequest): readonly QuotaResource[] {
  const network: QuotaResource[] = ['floating_ips', 'security_groups', 'security_group_rules'];
  if (atLeast(request, '2.57')) return [...network, 'injected_files', 'injected_file_content_bytes'];
  if (atLeast(request, '2.36')) return network;
  return [];
}

export function registerLimitsRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;

  app.get('/limits', async (request) => {
    const ctx = request.ctx;
    checkQueryParams(request, ['tenant_id']);
    const tenantId = queryValue(request.query as Query, 'tenant_id');
    authorize(ctx, 'os_compute_api:limits');
    if (tenantId !== undefined) authorize(ctx, 'os_compute_api:limits:other_project', { project_id: tenantId });
    const projectId = tenantId ?? requireProjectScope(ctx);
    const [limits, usage] = await Promise.all([
      effectiveLimits(db, deps.config, projectId),
      displayedUsage(db, deps.config, projectId, null),
    ]);
    const hidden = hiddenResources(request);
    const withImageMeta = !atLeast(request, '2.39');
    const absolute: Record<string, number> = {};
    for (const [resource, name] of LIMIT_NAMES) {
      if (hidden.includes(resource) || (name === 'maxImageMeta' && !withImageMeta)) continue;
      absolute[name] = limits[resource];
    }
    for (const [name, resource] of USED_NAMES) {
      if (!hidden.includes(resource)) absolute[name] = usage[resource];
    }
    return { limits: { rate: [], absolute } };
  });
}
