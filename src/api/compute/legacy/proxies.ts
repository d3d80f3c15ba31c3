/**
 * The network and volume proxy APIs Nova deprecated at 2.36 (below it they relay to Neutron and Cinder;
 * from it they are 404). The network reads (networks, tenant networks, floating IP pools, security
 * groups) are answered from the network service (network-proxies.ts); the rest answer below 2.36 as Nova
 * would over a service that holds nothing: every list is empty, every id is not found (with Nova's
 * message), and what would create something is a 404 saying so. From 2.36, 404 like any unknown path.
 * The images proxy, which has a service behind it, is images.ts.
 */
import type { FastifyRequest } from 'fastify';
import { NotFound, type StratusError } from '../../../common/errors.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../../policy.ts';
import { requireVersion } from '../microversion.ts';

/** The last version of the proxies (Nova's MAX_PROXY_API_SUPPORT_VERSION). */
export const LAST_PROXY_VERSION = '2.35';

type Id = FastifyRequest<{ Params: { id: string } }>;

interface ProxiedResource {
  /** The collection's path. */
  path: string;
  /** Its list and show read the network service (network-proxies.ts): only its writes are here. */
  readFromNetwork?: boolean;
  /** The body key of its list. */
  key: string;
  /** Extra list paths (`/detail`). */
  details?: boolean;
  /** Nova's not-found message for one id, or null where the resource has no show/delete. */
  notFound: ((id: string) => string) | null;
  /** Whether Nova routes DELETE on an id. */
  deletable: boolean;
  /** The service that would hold it, for the 404 a create gets; null where Nova has no create. */
  creates: 'network' | 'volume' | null;
  /** Nova's policy rule of an operation on it. */
  rule(operation: 'list' | 'detail' | 'show' | 'create' | 'delete'): string;
}

const RESOURCES: readonly ProxiedResource[] = [
  {
    path: '/os-security-groups',
    readFromNetwork: true,
    key: 'security_groups',
    notFound: (id) => `Security group ${id} not found.`,
    deletable: true,
    creates: 'network',
    rule: (op) => `os_compute_api:os-security-groups:${op === 'list' ? 'get' : op}`,
  },
  {
    path: '/os-floating-ips',
    key: 'floating_ips',
    notFound: (id) => `Floating IP not found for ID ${id}`,
    deletable: true,
    creates: 'network',
    rule: (op) => `os_compute_api:os-floating-ips:${op}`,
  },
  {
    path: '/os-volumes',
    key: 'volumes',
    details: true,
    notFound: (id) => `Volume ${id} could not be found.`,
    deletable: true,
    creates: 'volume',
    rule: (op) => `os_compute_api:os-volumes:${op}`,
  },
  {
    path: '/os-snapshots',
    key: 'snapshots',
    details: true,
    notFound: (id) => `Snapshot ${id} could not be found.`,
    deletable: true,
    creates: 'volume',
    rule: (op) => `os_compute_api:os-volumes:snapshots:${op}`,
  },
];

function missingService(kind: 'network' | 'volume'): StratusError {
  return new NotFound(`Stratus has no ${kind} service: there is nothing to create this in.`);
}

/** What every proxy route checks first: the microversions that still have it, then its policy rule. */
export function proxyChecks(request: FastifyRequest, rule: string): void {
  requireVersion(request, '2.1', LAST_PROXY_VERSION);
  authorize(request.ctx, rule);
}

export function registerProxyRoutes(app: ApiServer): void {
  for (const resource of RESOURCES) {
    const list = (operation: 'list' | 'detail') => async (request: FastifyRequest) => {
      proxyChecks(request, resource.rule(operation));
      return { [resource.key]: [] };
    };
    if (!resource.readFromNetwork) app.get(resource.path, list('list'));
    if (resource.details) app.get(`${resource.path}/detail`, list('detail'));
    const notFound = resource.notFound;
    if (notFound) {
      const missing = (operation: 'show' | 'delete') => async (request: Id) => {
        proxyChecks(request, resource.rule(operation));
        throw new NotFound(notFound(request.params.id));
      };
      if (!resource.readFromNetwork) app.get(`${resource.path}/:id`, missing('show'));
      if (resource.deletable) app.delete(`${resource.path}/:id`, missing('delete'));
    }
    const kind = resource.creates;
    if (kind) {
      app.post(resource.path, async (request) => {
        proxyChecks(request, resource.rule('create'));
        throw missingService(kind);
      });
    }
  }
  // Rules belong to groups, of which there are none.
  app.post('/os-security-group-rules', async (request) => {
    proxyChecks(request, 'os_compute_api:os-security-groups:rule:create');
    throw missingService('network');
  });
  app.delete('/os-security-group-rules/:id', async (request: Id) => {
    proxyChecks(request, 'os_compute_api:os-security-groups:rule:delete');
    throw new NotFound(`Security group rule ${request.params.id} not found.`);
  });
  // PUT on a group updates it: there is none to update.
  app.put('/os-security-groups/:id', async (request: Id) => {
    proxyChecks(request, 'os_compute_api:os-security-groups:update');
    throw new NotFound(`Security group ${request.params.id} not found.`);
  });
}
