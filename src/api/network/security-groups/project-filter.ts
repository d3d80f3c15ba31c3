/**
 * The project a security group or rule list looks at (its project_id or tenant_id filter, else the
 * caller's): Neutron makes that project's default group before it answers.
 */
import type { FastifyRequest } from 'fastify';
import { valuesOf } from '../list-query.ts';

export function filteredProject(request: FastifyRequest): string | undefined {
  const query = (request.query ?? {}) as Record<string, string | string[] | undefined>;
  return valuesOf(query, 'project_id')[0] ?? valuesOf(query, 'tenant_id')[0];
}
