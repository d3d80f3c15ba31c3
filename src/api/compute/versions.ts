/**
 * Version discovery, which needs no token, as Nova answers it: GET / lists both major versions, v2.0
 * (SUPPORTED) and v2.1 (CURRENT, with its microversion range); GET /v2.1 describes v2.1 and GET /v2
 * describes v2.0. Clients (novaclient, keystoneauth, openstacksdk) read these to pick the version and
 * microversion they will ask for. Any other path outside /v2 and /v2.1 answers 300 Multiple Choices, with
 * the path under each major version, as Nova's version application answers it.
 *
 * Only the documents of v2.0 are served, not the legacy v2.0 API under /v2/: Nova serves it as the v2.1
 * code frozen at 2.1 with laxer body validation, and every client of today finds v2.1 in the catalog or
 * in GET / and uses it. A client that insists on /v2/servers gets a 404 and can switch to /v2.1.
 */
import type { FastifyRequest } from 'fastify';
import { NotFound } from '../../common/errors.ts';
import type { ApiServer } from '../http/create-server.ts';
import { rootUrl } from './links.ts';
import { formatVersion, MAX_VERSION, MIN_VERSION } from './microversion.ts';

interface MajorVersion {
  id: 'v2.0' | 'v2.1';
  /** The path segment of its URLs. */
  path: 'v2' | 'v2.1';
  status: 'SUPPORTED' | 'CURRENT';
  version: string;
  min_version: string;
  updated: string;
  mediaType: string;
}

/** Nova's own values, as it sent them while v2.0 was still SUPPORTED (up to the 2.96 era). */
const MAJOR_VERSIONS: readonly MajorVersion[] = [
  {
    id: 'v2.0',
    path: 'v2',
    status: 'SUPPORTED',
    // v2.0 has no microversions: Nova sends empty strings.
    version: '',
    min_version: '',
    updated: '2011-01-21T11:33:21Z',
    mediaType: 'application/vnd.openstack.compute+json;version=2',
  },
  {
    id: 'v2.1',
    path: 'v2.1',
    status: 'CURRENT',
    version: formatVersion(MAX_VERSION),
    min_version: formatVersion(MIN_VERSION),
    updated: '2013-07-23T11:33:21Z',
    mediaType: 'application/vnd.openstack.compute+json;version=2.1',
  },
];

function selfHref(request: FastifyRequest, major: MajorVersion): string {
  return `${rootUrl(request)}/${major.path}/`;
}

/** An entry of GET /: no media types, only the self link. */
function summary(request: FastifyRequest, major: MajorVersion) {
  return {
    id: major.id,
    status: major.status,
    version: major.version,
    min_version: major.min_version,
    updated: major.updated,
    links: [{ rel: 'self', href: selfHref(request, major) }],
  };
}

/** The document of one major version (GET /v2, GET /v2.1). */
function versionDocument(request: FastifyRequest, major: MajorVersion) {
  return {
    version: {
      id: major.id,
      status: major.status,
      version: major.version,
      min_version: major.min_version,
      updated: major.updated,
      links: [
        { rel: 'self', href: selfHref(request, major) },
        { rel: 'describedby', type: 'text/html', href: 'http://docs.openstack.org/' },
      ],
      'media-types': [{ base: 'application/json', type: major.mediaType }],
    },
  };
}

const [V2_0, V2_1] = MAJOR_VERSIONS as [MajorVersion, MajorVersion];

/**
 * GET / and GET /v2, /v2/ — outside the versioned routes, so no microversion is negotiated (as in Nova:
 * the root is unversioned and v2.0 has no microversions).
 */
export function registerRootVersionRoute(app: ApiServer): void {
  app.get('/', { config: { public: true } }, async (request) => ({
    versions: MAJOR_VERSIONS.map((major) => summary(request, major)),
  }));
  for (const url of ['/v2', '/v2/']) {
    app.get(url, { config: { public: true } }, async (request) => versionDocument(request, V2_0));
  }
  // Any other path outside /v2 and /v2.1 reaches Nova's version application, which answers 300 with
  // the path under each major version. Paths under /v2 and /v2.1 that match no route stay 404s.
  app.get('/*', { config: { public: true } }, async (request, reply) => {
    const path = request.url.split('?')[0]!;
    const first = path.split('/')[1];
    if (first === 'v2' || first === 'v2.1') throw new NotFound('The resource could not be found.');
    return reply.code(300).send({ choices: MAJOR_VERSIONS.map((major) => choice(request, major, path)) });
  });
}

/** An entry of Nova's 300 answer: the major version, and the asked path under it. */
function choice(request: FastifyRequest, major: MajorVersion, path: string) {
  const tail = path.replace(/^\/+/, '');
  return {
    id: major.id,
    status: major.status,
    links: [{ rel: 'self', href: `${rootUrl(request)}/${major.path}${tail ? `/${tail}` : ''}` }],
    'media-types': [{ base: 'application/json', type: major.mediaType }],
  };
}

/** GET /v2.1 and /v2.1/ — registered inside the versioned scope, so the response names its microversion. */
export function registerVersionDocumentRoute(app: ApiServer): void {
  app.get('/', { config: { public: true } }, async (request) => versionDocument(request, V2_1));
}
