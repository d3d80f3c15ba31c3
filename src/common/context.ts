/**
 * The request context: who asked, on whose behalf, and under which request id. It travels with every
 * RPC message so one request can be followed through the logs of every service that handled it.
 */
import { randomUUID } from 'node:crypto';

export interface RequestContext {
  /** `req-<uuid>`, as Nova writes it; shown to the user in X-Openstack-Request-Id. */
  readonly requestId: string;
  readonly userId: string | null;
  readonly projectId: string | null;
  readonly roles: readonly string[];
  readonly isAdmin: boolean;
}

export function newRequestId(): string {
  return `req-${randomUUID()}`;
}

/** A context for work a service starts by itself (periodic tasks, start-up), acting as admin. */
export function adminContext(requestId: string = newRequestId()): RequestContext {
  return { requestId, userId: null, projectId: null, roles: ['admin'], isAdmin: true };
}

export function userContext(fields: {
  requestId?: string;
  userId: string;
  projectId: string;
  roles: readonly string[];
}): RequestContext {
  return {
    requestId: fields.requestId ?? newRequestId(),
    userId: fields.userId,
    projectId: fields.projectId,
    roles: [...fields.roles],
    isAdmin: fields.roles.includes('admin'),
  };
}
