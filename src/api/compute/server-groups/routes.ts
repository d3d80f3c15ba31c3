/**
 * os-server-groups: a project's server groups. Bodies follow the microversion as Nova's do: before 2.64
 * a group has a one-item `policies` list and an empty `metadata`; from 2.64 a `policy` and its `rules`
 * (only anti-affinity takes one, `max_server_per_host`). The soft policies exist from 2.15, the owner's
 * `user_id`/`project_id` are shown from 2.13. Members are the group's servers not deleted. A group of
 * another project is not found, except for admins; admins list every project's with `all_projects`.
 */
import type { FastifyRequest } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { BadRequest } from '../../../common/errors.ts';
import {
  SERVER_GROUP_POLICIES,
  createServerGroup,
  deleteServerGroup,
  getServerGroup,
  listServerGroups,
  type ServerGroup,
  type ServerGroupPolicy,
  type ServerGroupRules,
} from '../../../objects/server-groups.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize, ownedBy, permits, requireProjectScope } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { atLeast } from '../microversion.ts';
import { checkServerGroupQuota } from '../quotas/enforce.ts';
import { IntegerLike, Name, toInt } from '../schema-types.ts';
import { queryValue, validateBody, type Query } from '../validate.ts';

const HARD_POLICIES = ['anti-affinity', 'affinity'];

interface CreateBody {
  server_group: {
    name: string;
    policies?: [ServerGroupPolicy];
    policy?: ServerGroupPolicy;
    rules?: { max_server_per_host?: number | string };
  };
}

function createSchema(fields: Record<string, TSchema>, required: string[]): TSchema {
  return Type.Unsafe({
    type: 'object',
    properties: {
      server_group: {
        type: 'object',
        properties: { name: Name, ...fields },
        required: ['name', ...required],
        additionalProperties: false,
      },
    },
    required: ['server_group'],
    additionalProperties: false,
  });
}

const policiesList = (allowed: readonly string[]) =>
  Type.Unsafe({ type: 'array', items: { type: 'string', enum: allowed }, minItems: 1, maxItems: 1 });
const CREATE_V21 = createSchema({ policies: policiesList(HARD_POLICIES) }, ['policies']);
const CREATE_V215 = createSchema({ policies: policiesList(SERVER_GROUP_POLICIES) }, ['policies']);
const CREATE_V264 = createSchema(
  {
    policy: Type.Unsafe({ type: 'string', enum: SERVER_GROUP_POLICIES }),
    rules: Type.Object({ max_server_per_host: Type.Optional(IntegerLike(1)) }, { additionalProperties: false }),
  },
  ['policy'],
);

/** The query parameters Nova knows for the list (unknown ones are refused from 2.75). */
const LIST_PARAMS = ['all_projects', 'limit', 'offset'];

export function serverGroupView(request: FastifyRequest, group: ServerGroup): Record<string, unknown> {
  const view: Record<string, unknown> = { id: group.uuid, name: group.name };
  if (atLeast(request, '2.64')) {
    view['policy'] = group.policy;
    view['rules'] = { ...group.rules };
  } else {
    view['policies'] = [group.policy];
    view['metadata'] = {};
  }
  view['members'] = [...group.members];
  if (atLeast(request, '2.13')) {
    view['project_id'] = group.project_id;
    view['user_id'] = group.user_id;
  }
  return view;
}

function nonNegative(query: Query, name: string): number | undefined {
  const raw = queryValue(query, name);
  if (raw === undefined) return undefined;
  if (!/^[0-9]+$/.test(raw)) {
    throw new BadRequest(
      `Invalid input for query parameters ${name}. Value: ${raw}. '${raw}' does not match '^[0-9]*$'`,
    );
  }
  return Number(raw);
}

export function registerServerGroupRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;
  const maxLimit = deps.config.DEFAULT.osapi_max_limit;
  type Params = { Params: { id: string } };
  /** The project whose groups the caller sees: null (all) for admins. */
  const scope = (request: FastifyRequest) => (request.ctx.isAdmin ? null : requireProjectScope(request.ctx));

  app.get('/os-server-groups', async (request) => {
    const projectId = requireProjectScope(request.ctx);
    authorize(request.ctx, 'os_compute_api:os-server-groups:index');
    const query = request.query as Query;
    if (atLeast(request, '2.75')) {
      const unknown = Object.keys(query).find((k) => !LIST_PARAMS.includes(k));
      if (unknown) {
        throw new BadRequest(
          `Invalid input for query parameters. Additional properties are not allowed ('${unknown}' was unexpected)`,
        );
      }
    }
    const limit = Math.min(nonNegative(query, 'limit') ?? maxLimit, maxLimit);
    const offset = nonNegative(query, 'offset') ?? 0;
    // Nova ignores all_projects from a caller its rule does not allow, rather than refusing.
    const all =
      query['all_projects'] !== undefined && permits(request.ctx, 'os_compute_api:os-server-groups:index:all_projects');
    const groups = await listServerGroups(db, { projectId: all ? null : projectId, limit, offset });
    return { server_groups: groups.map((g) => serverGroupView(request, g)) };
  });

  app.post('/os-server-groups', async (request) => {
    const projectId = requireProjectScope(request.ctx);
    authorize(request.ctx, 'os_compute_api:os-server-groups:create');
    let schema = CREATE_V21;
    if (atLeast(request, '2.64')) schema = CREATE_V264;
    else if (atLeast(request, '2.15')) schema = CREATE_V215;
    const { server_group: body } = validateBody<CreateBody>(schema, request.body);
    // Nova checks the quota before it looks at the policy's rules.
    await checkServerGroupQuota(db, deps.config, request.ctx);
    const policy = body.policy ?? body.policies![0];
    const rules: ServerGroupRules = {};
    if (body.rules?.max_server_per_host !== undefined)
      rules.max_server_per_host = toInt(body.rules.max_server_per_host);
    if (policy !== 'anti-affinity' && Object.keys(rules).length) {
      throw new BadRequest('Only anti-affinity policy supports rules.');
    }
    const group = await createServerGroup(db, {
      name: body.name,
      userId: request.ctx.userId ?? '',
      projectId,
      policy,
      rules,
    });
    // Nova's recheck: a create that raced another past the check above counts again with its group in,
    // and removes it if the two together went over (both may lose; neither exceeds the quota).
    if (deps.config.quota.recheck_quota) {
      await checkServerGroupQuota(db, deps.config, request.ctx, 0).catch(async (err: unknown) => {
        await deleteServerGroup(db, group.uuid, null);
        throw err;
      });
    }
    return { server_group: serverGroupView(request, group) };
  });

  /** The group (404 outside the caller's project unless admin), if `rule` allows the caller on it. */
  const groupFor = async (request: FastifyRequest<Params>, rule: string) => {
    const group = await getServerGroup(db, request.params.id, scope(request));
    authorize(request.ctx, `os_compute_api:os-server-groups:${rule}`, ownedBy(group));
    return group;
  };

  app.get<Params>('/os-server-groups/:id', async (request) => ({
    server_group: serverGroupView(request, await groupFor(request, 'show')),
  }));

  app.delete<Params>('/os-server-groups/:id', async (request, reply) => {
    await groupFor(request, 'delete');
    await deleteServerGroup(db, request.params.id, scope(request));
    void reply.code(204);
  });
}
