/**
 * POST /v3/auth/tokens without the HTTP: checks the identity (the password or token method), resolves the
 * requested scope and decides what token to issue. Every failure to prove who the caller is, or to earn
 * the scope asked for, is a 401, as in Keystone.
 */
import { Type, type Static } from 'typebox';
import type { Db } from '../../common/db/database.ts';
import { BadRequest, Unauthorized } from '../../common/errors.ts';
import { burnPasswordCheck, verifyPassword } from '../auth/password-hash.ts';
import type { IssueRequest, TokenScope, TokenService } from '../auth/token-service.ts';
import { effectiveRoles } from './store/assignments.ts';
import { findDomainByName, getDomain, type DomainRow } from './store/domains.ts';
import { findProjectByName, getProject } from './store/projects.ts';
import { findUserByName, getUser, type UserRow } from './store/users.ts';

const AUTH_REQUIRED = 'The request you have made requires authentication.';

const DomainRef = Type.Object({ id: Type.Optional(Type.String()), name: Type.Optional(Type.String()) });
const ScopeObject = Type.Object({
  project: Type.Optional(
    Type.Object({
      id: Type.Optional(Type.String()),
      name: Type.Optional(Type.String()),
      domain: Type.Optional(DomainRef),
    }),
  ),
  domain: Type.Optional(DomainRef),
  system: Type.Optional(Type.Object({})),
  'OS-TRUST:trust': Type.Optional(Type.Object({})),
  unscoped: Type.Optional(Type.Object({})),
});
type ScopeBody = Static<typeof ScopeObject>;

/**
 * The request body. Lenient about unknown members, like Keystone's schema; the scope is an object, or the
 * string "unscoped" (older keystoneauth sends `{"unscoped": {}}` instead).
 */
export const AuthRequestBody = Type.Object({
  auth: Type.Object({
    identity: Type.Object({
      methods: Type.Array(Type.String(), { minItems: 1 }),
      password: Type.Optional(
        Type.Object({
          user: Type.Object({
            id: Type.Optional(Type.String()),
            name: Type.Optional(Type.String()),
            password: Type.Optional(Type.String()),
            domain: Type.Optional(DomainRef),
          }),
        }),
      ),
      token: Type.Optional(Type.Object({ id: Type.String() })),
    }),
    scope: Type.Optional(
      Type.Unsafe<ScopeBody | string>({ type: ['object', 'string'], properties: ScopeObject.properties }),
    ),
  }),
});
export type AuthRequest = Static<typeof AuthRequestBody>['auth'];

export async function authenticate(
  db: Db,
  tokens: TokenService,
  auth: AuthRequest,
  hashRounds: number,
): Promise<IssueRequest> {
  const methods = [...new Set(auth.identity.methods)];
  if (methods.length !== 1) {
    throw new Unauthorized('Authenticating with more than one method at once is not supported.');
  }
  let user: UserRow;
  let issue: Omit<IssueRequest, 'scope'>;
  switch (methods[0]) {
    case 'password':
      user = await passwordIdentity(db, auth.identity.password, hashRounds);
      issue = { userId: user.id, methods: ['password'] };
      break;
    case 'token': {
      if (!auth.identity.token) throw new BadRequest("Invalid input for field identity.token: 'id' is required.");
      const parent = await tokens.validate(auth.identity.token.id);
      const found = await getUser(db, parent.userId);
      if (!found) throw new Unauthorized(AUTH_REQUIRED);
      user = found;
      // A token made from a token lives no longer than its parent, and keeps its audit chain.
      issue = { userId: user.id, methods: ['token', ...parent.methods], parent };
      break;
    }
    default:
      throw new Unauthorized(`Attempted to authenticate with an unsupported method: ${methods[0]}.`);
  }
  return { ...issue, scope: await resolveScope(db, user, auth.scope) };
}

type PasswordIdentity = NonNullable<AuthRequest['identity']['password']>;

async function passwordIdentity(db: Db, password: PasswordIdentity | undefined, hashRounds: number): Promise<UserRow> {
  const ref = password?.user;
  if (!ref) throw new BadRequest("Invalid input for field identity.password: 'user' is required.");
  if (ref.id === undefined && ref.name === undefined) {
    throw new BadRequest('Invalid input for field identity.password.user: give its id, or its name and domain.');
  }
  if (ref.password === undefined) {
    throw new BadRequest("Invalid input for field identity.password.user: 'password' is required.");
  }
  let user: UserRow | undefined;
  if (ref.id !== undefined) {
    user = await getUser(db, ref.id);
  } else {
    if (!ref.domain) {
      throw new BadRequest('Invalid input for field identity.password.user: a user given by name needs its domain.');
    }
    const domain = await findDomain(db, ref.domain, 'identity.password.user.domain');
    user = domain ? await findUserByName(db, domain.id, ref.name!) : undefined;
  }
  if (!user || user.password_hash === null) {
    await burnPasswordCheck(ref.password, hashRounds);
    throw new Unauthorized(AUTH_REQUIRED);
  }
  const ok = await verifyPassword(ref.password, user.password_hash);
  const domain = await getDomain(db, user.domain_id);
  // One answer for every failure, so a caller cannot probe which users exist or are disabled.
  if (!ok || !user.enabled || !domain?.enabled) throw new Unauthorized(AUTH_REQUIRED);
  return user;
}

async function findDomain(db: Db, ref: { id?: string; name?: string }, field: string): Promise<DomainRow | undefined> {
  if (ref.id !== undefined) return getDomain(db, ref.id);
  if (ref.name !== undefined) return findDomainByName(db, ref.name);
  throw new BadRequest(`Invalid input for field ${field}: give its id or name.`);
}

async function resolveScope(db: Db, user: UserRow, scope: ScopeBody | string | undefined): Promise<TokenScope> {
  if (typeof scope === 'string') {
    if (scope === 'unscoped') return null;
    throw new BadRequest(`Invalid input for field scope: '${scope}' is not a scope; use an object or "unscoped".`);
  }
  if (scope?.unscoped) return null;
  if (scope?.system) throw new BadRequest('System-scoped tokens are not supported; scope the token to a project.');
  if (scope?.['OS-TRUST:trust']) throw new BadRequest('Trusts are not supported.');
  if (scope?.project) return { project: await scopeProject(db, user, scope.project) };
  if (scope?.domain) return { domain: await scopeDomain(db, user, scope.domain) };
  return defaultScope(db, user);
}

async function scopeProject(db: Db, user: UserRow, ref: NonNullable<ScopeBody['project']>): Promise<string> {
  let project;
  if (ref.id !== undefined) {
    project = await getProject(db, ref.id);
  } else if (ref.name !== undefined) {
    if (!ref.domain)
      throw new BadRequest('Invalid input for field scope.project: a project given by name needs its domain.');
    const domain = await findDomain(db, ref.domain, 'scope.project.domain');
    project = domain ? await findProjectByName(db, domain.id, ref.name) : undefined;
  } else {
    throw new BadRequest('Invalid input for field scope.project: give its id, or its name and domain.');
  }
  const label = ref.id ?? ref.name;
  if (!project) throw new Unauthorized(`Could not find project: ${label}.`);
  const domain = await getDomain(db, project.domain_id);
  if (!project.enabled || !domain?.enabled) throw new Unauthorized(`Project ${label} is disabled.`);
  if ((await effectiveRoles(db, user.id, { kind: 'project', id: project.id })).length === 0) {
    throw new Unauthorized(`User ${user.id} has no role on project ${project.id}.`);
  }
  return project.id;
}

async function scopeDomain(db: Db, user: UserRow, ref: { id?: string; name?: string }): Promise<string> {
  const domain = await findDomain(db, ref, 'scope.domain');
  const label = ref.id ?? ref.name;
  if (!domain) throw new Unauthorized(`Could not find domain: ${label}.`);
  if (!domain.enabled) throw new Unauthorized(`Domain ${label} is disabled.`);
  if ((await effectiveRoles(db, user.id, { kind: 'domain', id: domain.id })).length === 0) {
    throw new Unauthorized(`User ${user.id} has no role on domain ${domain.id}.`);
  }
  return domain.id;
}

/**
 * No scope asked for: the user's default project when it is usable (exists, enabled, user holds a role
 * there), else an unscoped token, as Keystone does since v3.1.
 */
async function defaultScope(db: Db, user: UserRow): Promise<TokenScope> {
  if (!user.default_project_id) return null;
  const project = await getProject(db, user.default_project_id);
  if (!project?.enabled) return null;
  const domain = await getDomain(db, project.domain_id);
  if (!domain?.enabled) return null;
  const roles = await effectiveRoles(db, user.id, { kind: 'project', id: project.id });
  return roles.length ? { project: project.id } : null;
}
