/**
 * The HTTP server shared by the three OpenStack APIs: request ids, authentication, the request context
 * carried into logs, strict validation and error bodies in each API's own format.
 */
import { STATUS_CODES } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { newRequestId, userContext, type RequestContext } from '../../common/context.ts';
import { BadRequest, Conflict, Forbidden, NotFound, StratusError, Unauthorized } from '../../common/errors.ts';
import { getLogger, withRequestContext } from '../../common/log/logger.ts';
import { apiRequests } from '../../common/metrics/metrics.ts';
import type { TokenValidator, ValidatedToken } from '../auth/token-validator.ts';
import { errorBody, type ApiKind } from './error-body.ts';
import { activePolicy, credentialsOf, withPolicy, type Policy } from '../policy/index.ts';
import { RateLimited, type RateLimiter } from './rate-limit.ts';
import { parseJsonBody } from './json-body.ts';
import { BODY_DRAIN, drainUnreadBody, type BodyDrainBounds } from './body-drain.ts';
import { describeValidationError, schemaCompiler } from './validation.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking; set by authentication (an anonymous context on public routes). */
    ctx: RequestContext;
    /** The validated token, on authenticated routes. */
    token: ValidatedToken | null;
  }
  interface FastifyContextConfig {
    /** The route needs no token (version documents, POST /v3/auth/tokens). */
    public?: boolean;
  }
}

export type ApiServer = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  import('fastify').FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface ServerOptions {
  kind: ApiKind;
  tokens: TokenValidator;
  /** `[DEFAULT] api_rate_limit`, counted once the caller is known. */
  rateLimiter?: RateLimiter;
  bodyLimit?: number;
  /** How much of a body answered before it all arrived is still read and dropped (body-drain.ts). */
  bodyDrain?: BodyDrainBounds;
  /** The rules handlers enforce; the registered defaults when not given. */
  policy?: Policy;
}

/** A route as registered: what the route-table tests (fuzz, tenant isolation) walk, so new routes are covered. */
export interface RouteEntry {
  method: string;
  /** The template, with its parameters (`/v2.1/servers/:server_id`). */
  url: string;
  schema?: { body?: unknown; querystring?: unknown; params?: unknown };
}

const routeTables = new WeakMap<object, RouteEntry[]>();

/** Every route of an app made by createApiServer, in registration order (HEAD and OPTIONS included). */
export function routeTable(app: ApiServer): readonly RouteEntry[] {
  return routeTables.get(app) ?? [];
}

export function createApiServer(options: ServerOptions): ApiServer {
  const policy = options.policy ?? activePolicy();
  const log = getLogger(`api.${options.kind}`);
  const app = Fastify({
    logger: false,
    genReqId: (req) => incomingRequestId(req.headers['x-openstack-request-id']) ?? newRequestId(),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    clientErrorHandler: (error, socket) => answerClientError(options.kind, error, socket),
    // Ids longer than Fastify's 100 characters reach the handlers, which answer 404 as the real services do.
    maxParamLength: 1024,
    // The router's own refusals (a path that is not valid percent-encoding, a parameter longer still),
    // which Fastify otherwise answers in its format rather than the API's.
    frameworkErrors: (error, _request, reply) => {
      const [status, message]: [number, string] =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? [414, 'The request URI is too long: a path segment exceeds 1024 characters.']
          : [400, 'The request URL is not valid: check its percent-encoding.'];
      void (reply as FastifyReply).code(status).send(errorBody(options.kind, status, message));
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(schemaCompiler);
  app.decorateRequest('ctx', null as unknown as RequestContext);
  app.decorateRequest('token', null);

  // An empty body with a JSON content type is legal for actions without arguments (DELETE, some POSTs).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body, 'Malformed request body'));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    request.ctx = { requestId: request.id, userId: null, projectId: null, roles: [], isAdmin: false };
    reply.header('x-openstack-request-id', request.id);
    if (options.kind === 'compute') reply.header('x-compute-request-id', request.id);
  });

  // preValidation, not preHandler: an anonymous caller gets 401 before any word about its body.
  app.addHook('preValidation', async (request) => {
    if (request.routeOptions.config.public) return;
    const token = request.headers['x-auth-token'];
    if (typeof token !== 'string' || token === '') {
      throw new Unauthorized('The request you have made requires authentication.');
    }
    const validated = await options.tokens.validate(token);
    request.token = validated;
    const ctx = userContext({
      requestId: request.id,
      userId: validated.userId,
      projectId: validated.projectId ?? '',
      roles: validated.roles.map((r) => r.name),
    });
    // As Nova's context: an administrator is whoever the policy's context_is_admin rule says.
    request.ctx = { ...ctx, isAdmin: policy.allows(options.kind, 'context_is_admin', {}, credentialsOf(ctx)) };
    if (options.rateLimiter?.enabled) {
      const refusal = await options.rateLimiter.check(validated);
      if (refusal) throw new RateLimited(refusal);
    }
  });

  const table: RouteEntry[] = [];
  routeTables.set(app, table);
  // Handlers run inside the request context, so every log line they cause carries the request id.
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) table.push({ method, url: route.url, schema: route.schema });
    const handler = route.handler;
    route.handler = function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      return withRequestContext(request.ctx, () => withPolicy(policy, () => handler.call(this, request, reply)));
    };
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(errorBody(options.kind, 404, `The resource could not be found.`));
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const { status, message } = classify(error, request);
    if (status >= 500) {
      withRequestContext(request.ctx, () => log.error({ err: error, url: request.url }, 'request failed'));
    }
    const body = errorBody(options.kind, status, message, errorType(error, status));
    if (error instanceof RateLimited) {
      const retryAfter = String(error.refusal.retryAfterSeconds);
      void reply.header('retry-after', retryAfter);
      // Nova's rate-limit fault also says which limit, and when to retry.
      if (options.kind === 'compute')
        Object.assign(body['overLimit'] as object, { details: error.details, retryAfter });
    }
    void reply.code(status).send(body);
  });

  // Before Node sees the answer: a body still arriving is drained rather than reset (body-drain.ts).
  const drainBounds = options.bodyDrain ?? BODY_DRAIN;
  app.addHook('onSend', async (request, reply) => {
    drainUnreadBody(request, reply, drainBounds);
  });

  app.addHook('onResponse', async (request, reply) => {
    // The route template (/v2.1/servers/:server_id), never the path as sent: ids would make a series each.
    apiRequests.observe(
      {
        api: options.kind,
        route: request.routeOptions.url ?? '<unmatched>',
        method: request.method,
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    withRequestContext(request.ctx, () =>
      log.info(
        { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
        'request',
      ),
    );
  });

  return app;
}

function classify(error: FastifyError, request: FastifyRequest): { status: number; message: string } {
  if (error instanceof StratusError) {
    const status = error.status;
    // 501 and 503 say what is missing, not what broke: their message is the client's to read.
    const internal = status >= 500 && status !== 501 && status !== 503;
    return { status, message: internal ? internalMessage(error) : error.message };
  }
  if (error.validation) {
    const part = error.validationContext ?? 'body';
    const data = part === 'body' ? request.body : part === 'querystring' ? request.query : request.params;
    // Fastify's error objects are Ajv's.
    return { status: 400, message: describeValidationError(error.validation as never, part, data) };
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: error.statusCode, message: error.message };
  }
  return { status: 500, message: internalMessage(error) };
}

/**
 * Neutron's error `type`: the name of the declared error (NetworkNotFound, MacAddressInUse, ...), except
 * for the project's generic classes and errors that are not ours, which get the HTTP error's name.
 */
function errorType(error: Error, status: number): string | undefined {
  if (status >= 500 || !(error instanceof StratusError) || GENERIC_ERRORS.has(error.constructor)) return undefined;
  return error.name;
}

/**
 * The project's own generic classes, by identity rather than name: Neutron's errors include one named
 * BadRequest ("Bad <resource> request: ..."), whose type Neutron does send.
 */
const GENERIC_ERRORS: ReadonlySet<unknown> = new Set([
  BadRequest,
  NotFound,
  Conflict,
  Forbidden,
  Unauthorized,
  RateLimited,
]);

function internalMessage(error: Error): string {
  return `Unexpected API Error. Please report this at the Stratus issue tracker and attach the request id. ${error.name}: ${error.message}`;
}

/** Accepts a caller-supplied request id only in the `req-<uuid>` form, as Nova does. */
function incomingRequestId(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value && /^req-[0-9a-f-]{36}$/.test(value) ? value : undefined;
}

/** How long a refused connection may go on sending before it is cut off. */
const DRAIN_MS = 5000;

/**
 * A request Node's parser refused before any route saw it (headers over the 16 KiB limit, a malformed
 * request line): answered in the API's own error format, as Fastify's default handler does not. Why not
 * destroy the socket at once, as Node and Fastify do: a client still sending the rest of a 100 KB header
 * then gets a connection reset instead of the answer. The connection is half-closed after the answer
 * and what the client still sends is read and dropped, for a few seconds at most.
 */
function answerClientError(
  kind: ApiKind,
  error: Error & { code?: string },
  socket: import('node:stream').Duplex,
): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request header fields too large: the headers exceed the limit of this API.']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'The request was not received in time.']
        : [400, 'Malformed HTTP request.'];
  const body = JSON.stringify(errorBody(kind, status, message));
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.resume();
  setTimeout(() => socket.destroy(), DRAIN_MS).unref();
}
