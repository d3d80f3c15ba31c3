/**
 * Which quota resources the quota APIs show at a microversion, and the bodies built from them. Nova
 * stopped showing nova-network's resources at 2.36 (quota sets) and 2.50 (quota classes), and the
 * personality files' at 2.57; quota classes show the server group resources only from 2.50.
 */
import type { FastifyRequest } from 'fastify';
import { BadRequest } from '../../../common/errors.ts';
import { QUOTA_RESOURCES, type QuotaResource } from '../../../objects/quotas.ts';
import { atLeast } from '../microversion.ts';
import type { Query } from '../validate.ts';

const NETWORK: readonly QuotaResource[] = ['fixed_ips', 'floating_ips', 'security_groups', 'security_group_rules'];
const PERSONALITY: readonly QuotaResource[] = [
  'injected_files',
  'injected_file_content_bytes',
  'injected_file_path_bytes',
];
const SERVER_GROUPS: readonly QuotaResource[] = ['server_groups', 'server_group_members'];

function without(hidden: readonly QuotaResource[]): QuotaResource[] {
  return QUOTA_RESOURCES.filter((r) => !hidden.includes(r));
}

/** The resources os-quota-sets shows and accepts at the request's microversion. */
export function quotaSetResources(request: FastifyRequest): QuotaResource[] {
  if (atLeast(request, '2.57')) return without([...NETWORK, ...PERSONALITY]);
  if (atLeast(request, '2.36')) return without(NETWORK);
  return [...QUOTA_RESOURCES];
}

/** The resources os-quota-class-sets shows at the request's microversion. */
export function quotaClassResources(request: FastifyRequest): QuotaResource[] {
  if (atLeast(request, '2.57')) return without([...NETWORK, ...PERSONALITY]);
  if (atLeast(request, '2.50')) return without(NETWORK);
  return without(SERVER_GROUPS);
}

/** The resources an os-quota-class-sets update accepts (server groups at every version, as in Nova). */
export function quotaClassSettable(request: FastifyRequest): QuotaResource[] {
  if (atLeast(request, '2.57')) return without([...NETWORK, ...PERSONALITY]);
  if (atLeast(request, '2.50')) return without(NETWORK);
  return [...QUOTA_RESOURCES];
}

/** `{id?, resource: value...}` for the resources shown, in Nova's order. */
export function quotaBody<T>(
  resources: readonly QuotaResource[],
  values: Record<QuotaResource, T>,
  id?: string,
): Record<string, T | string> {
  const body: Record<string, T | string> = id === undefined ? {} : { id };
  for (const resource of resources) body[resource] = values[resource];
  return body;
}

/**
 * Query parameters: from 2.75 only the known ones are accepted (Nova's additionalProperties false);
 * before, others are ignored.
 */
export function checkQueryParams(request: FastifyRequest, known: readonly string[]): void {
  if (!atLeast(request, '2.75')) return;
  const unknown = Object.keys(request.query as Query).find((k) => !known.includes(k));
  if (unknown) {
    throw new BadRequest(
      `Invalid input for query parameters. Additional properties are not allowed ('${unknown}' was unexpected)`,
    );
  }
}
