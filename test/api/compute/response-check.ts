/**
 * Every response the compute API tests receive is checked against the strict schema of the body Nova
 * sends for that route, status and microversion (response-schemas/), so that a key Nova does not send,
 * or one it always sends and we left out, fails a test instead of a user's strict client.
 *
 * How: a hook of the test app records, per request id, the route that answered (as registered under
 * /v2.1, for example '/servers/:id') and the microversion; the harness's inject then checks the body.
 * A success whose route has no schema fails as well, naming the route, so that a new route cannot go
 * unchecked. Errors (4xx, 5xx) must be Nova's fault body for their status, whichever route they come from.
 */
import { AssertionError } from 'node:assert';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyRequest, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { ApiServer } from '../../../src/api/http/create-server.ts';
import {
  compareVersions,
  formatVersion,
  parseVersion,
  type ApiVersion,
} from '../../../src/api/compute/microversion.ts';
import { faultSchema } from './response-schemas/errors.ts';
import { stripExtensionKeys } from './response-schemas/extensions.ts';
import { policyProblems } from './response-schemas/policy.ts';
import { RESPONSE_SCHEMAS } from './response-schemas/index.ts';
import type { ResponseSchema } from './response-schemas/types.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
const compiled = new WeakMap<object, ValidateFunction>();

function validator(schema: Record<string, unknown>): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

/** What the hook saw of a request: its route, microversion (null on the unversioned routes), extensions. */
interface Answered {
  method: string;
  route: string | undefined;
  version: ApiVersion | null;
  extensions: ReadonlySet<string>;
  isAdmin: boolean;
}

/**
 * The route as the schemas name it: '/servers/:id' for '/v2.1/servers/:id' and
 * '/v2.1/:project_id/servers/:id'; '' for the v2.1 version document itself ('/v2.1', '/v2.1/'); the
 * unversioned routes ('/', '/v2', '/v2/') as they are.
 */
export function schemaPath(routeUrl: string, versioned: boolean): string {
  if (!versioned) return routeUrl;
  const path = routeUrl.replace(/^\/v2\.1(\/:project_id)?/, '');
  return path === '/' ? '' : path;
}

function inRange(entry: ResponseSchema, version: ApiVersion | null): boolean {
  if (version === null) return true;
  if (entry.minVersion && compareVersions(version, parseVersion(entry.minVersion)) < 0) return false;
  if (entry.maxVersion && compareVersions(version, parseVersion(entry.maxVersion)) > 0) return false;
  return true;
}

/** "/server: must NOT have additional properties 'x'" lines, one per error. */
function describe(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => {
      const where = e.instancePath || '(body)';
      const params = e.params as { additionalProperty?: string; missingProperty?: string };
      if (params.additionalProperty !== undefined)
        return `${where}/${params.additionalProperty}: a key Nova does not send`;
      if (params.missingProperty !== undefined)
        return `${where}/${params.missingProperty}: a key Nova sends is missing`;
      return `${where}: ${e.message ?? e.keyword}`;
    })
    .join('\n  ');
}

function parseBody(res: LightMyRequestResponse): unknown {
  if (res.body === '') return null;
  try {
    return JSON.parse(res.body) as unknown;
  } catch {
    return res.body;
  }
}

/** Checks one response; throws an AssertionError that names the route, the version and each bad key. */
export function checkResponse(res: LightMyRequestResponse, answered: Answered | undefined, url: string): void {
  const method = answered?.method ?? res.raw.req.method ?? 'GET';
  if (method === 'HEAD') return;
  const body = parseBody(res);
  const version = answered?.version ?? null;
  const route = answered?.route === undefined ? undefined : schemaPath(answered.route, version !== null);
  const where = `${method} ${url} (route ${route ?? 'none'}${version ? ` at ${formatVersion(version)}` : ''})`;
  const fail = (message: string) => {
    throw new AssertionError({ message: `${where} answered ${res.statusCode}: ${message}` });
  };

  if (res.statusCode >= 400) {
    const validate = validator(faultSchema(res.statusCode));
    if (!validate(body)) fail(`not Nova's fault body\n  ${describe(validate.errors)}\n  ${res.body}`);
    return;
  }
  if (route === undefined) fail('no route answered, yet not an error');
  const extensionProblems = stripExtensionKeys(
    answered?.extensions ?? new Set(),
    method,
    route!,
    version ? formatVersion(version) : '2.1',
    body,
  );
  if (extensionProblems.length) fail(`Stratus extension keys wrong\n  ${extensionProblems.join('\n  ')}`);
  const roleProblems = policyProblems(
    answered?.isAdmin ?? false,
    method,
    route!,
    version ? formatVersion(version) : '2.1',
    body,
  );
  if (roleProblems.length) fail(`keys Nova's default policy shows otherwise\n  ${roleProblems.join('\n  ')}`);
  const candidates = RESPONSE_SCHEMAS.filter(
    (s) => s.method === method && s.path === route && s.status === res.statusCode && inRange(s, version),
  );
  if (candidates.length === 0) {
    fail(`no response schema for ${method} ${route} ${res.statusCode}: add one to test/api/compute/response-schemas/`);
  }
  const failures: string[] = [];
  for (const candidate of candidates) {
    const validate = validator(candidate.schema);
    if (validate(body)) return;
    failures.push(describe(validate.errors));
  }
  fail(`a body Nova would not send\n  ${failures.join('\n  -- or --\n  ')}\n  ${res.body}`);
}

/**
 * Makes every `app.inject(options)` of this app check its response. Only the promise form of inject is
 * used by the tests; the other forms are refused rather than left unchecked.
 */
export function checkEveryResponse(app: ApiServer): void {
  const answered = new Map<string, Answered>();
  app.addHook('onSend', async (request: FastifyRequest, _reply, payload) => {
    answered.set(request.id, {
      method: request.method,
      route: request.routeOptions.url,
      version: (request as { microversion?: ApiVersion | null }).microversion ?? null,
      extensions: (request as { stratusExtensions?: ReadonlySet<string> | null }).stratusExtensions ?? new Set(),
      isAdmin: request.ctx?.isAdmin ?? false,
    });
    return payload;
  });
  const inject = app.inject.bind(app) as (options: InjectOptions | string) => Promise<LightMyRequestResponse>;
  const checked = async (options: InjectOptions | string): Promise<LightMyRequestResponse> => {
    if (options === undefined) throw new Error('checked inject: pass the request options');
    const res = await inject(options);
    const id = String(res.headers['x-openstack-request-id'] ?? '');
    const seen = answered.get(id);
    answered.delete(id);
    checkResponse(res, seen, typeof options === 'string' ? options : String(options.url ?? options.path ?? ''));
    return res;
  };
  (app as unknown as { inject: typeof checked }).inject = checked;
}
