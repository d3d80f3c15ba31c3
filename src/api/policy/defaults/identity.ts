/**
 * The Identity API's rules: Keystone's names (keystone/common/policies) for the operations Stratus
 * serves, with defaults that keep Keystone's legacy meaning: managing identity is for admins, a user may
 * read itself, its projects and the project and domains its token names.
 */
import type { RuleDefault } from '../../../common/policy/types.ts';

const ADMIN = 'rule:admin_required';
const ANYONE = '';

function crud(entity: string, path: string, read = ADMIN): RuleDefault[] {
  return [
    [`identity:list_${entity}s`, read, `GET ${path}`],
    [`identity:get_${entity}`, read, `GET ${path}/{id}`],
    [`identity:create_${entity}`, ADMIN, `POST ${path}`],
    [`identity:update_${entity}`, ADMIN, `PATCH ${path}/{id}`],
    [`identity:delete_${entity}`, ADMIN, `DELETE ${path}/{id}`],
  ];
}

export const IDENTITY_RULES: readonly RuleDefault[] = [
  ['identity:create_user', ADMIN, 'POST /v3/users'],
  ['identity:list_users', ADMIN, 'GET /v3/users'],
  ['identity:get_user', `${ADMIN} or user_id:%(target.user.id)s`, 'GET /v3/users/{user_id}'],
  ['identity:update_user', ADMIN, 'PATCH /v3/users/{user_id}'],
  ['identity:delete_user', ADMIN, 'DELETE /v3/users/{user_id}'],
  ['identity:list_user_projects', `${ADMIN} or user_id:%(target.user.id)s`, 'GET /v3/users/{user_id}/projects'],
  ['identity:create_project', ADMIN, 'POST /v3/projects'],
  ['identity:list_projects', ADMIN, 'GET /v3/projects'],
  ['identity:get_project', `${ADMIN} or project_id:%(target.project.id)s`, 'GET /v3/projects/{project_id}'],
  ['identity:update_project', ADMIN, 'PATCH /v3/projects/{project_id}'],
  ['identity:delete_project', ADMIN, 'DELETE /v3/projects/{project_id}'],
  ['identity:list_domains', ADMIN, 'GET /v3/domains'],
  [
    'identity:get_domain',
    `${ADMIN} or token.project.domain.id:%(target.domain.id)s or token.user.domain.id:%(target.domain.id)s` +
      ' or token.domain.id:%(target.domain.id)s',
    'GET /v3/domains/{domain_id}',
  ],
  ['identity:create_domain', ADMIN, 'POST /v3/domains'],
  ['identity:update_domain', ADMIN, 'PATCH /v3/domains/{domain_id}'],
  ['identity:delete_domain', ADMIN, 'DELETE /v3/domains/{domain_id}'],
  ...crud('role', '/v3/roles'),
  ...crud('service', '/v3/services'),
  ...crud('endpoint', '/v3/endpoints'),
  ['identity:list_regions', ANYONE, 'GET /v3/regions'],
  ['identity:get_region', ANYONE, 'GET /v3/regions/{region_id}'],
  ['identity:create_region', ADMIN, 'POST /v3/regions; PUT /v3/regions/{region_id}'],
  ['identity:update_region', ADMIN, 'PATCH /v3/regions/{region_id}'],
  ['identity:delete_region', ADMIN, 'DELETE /v3/regions/{region_id}'],
  ['identity:create_grant', ADMIN, 'PUT /v3/{projects,domains}/{id}/users/{user_id}/roles/{role_id}'],
  ['identity:check_grant', ADMIN, 'HEAD /v3/{projects,domains}/{id}/users/{user_id}/roles/{role_id}'],
  ['identity:revoke_grant', ADMIN, 'DELETE /v3/{projects,domains}/{id}/users/{user_id}/roles/{role_id}'],
  ['identity:list_grants', ADMIN, 'GET /v3/{projects,domains}/{id}/users/{user_id}/roles'],
  ['identity:list_role_assignments', ADMIN, 'GET /v3/role_assignments'],
  ['identity:get_auth_catalog', ANYONE, 'GET /v3/auth/catalog'],
  ['identity:get_auth_projects', ANYONE, 'GET /v3/auth/projects'],
  ['identity:get_auth_domains', ANYONE, 'GET /v3/auth/domains'],
  ['identity:check_token', 'rule:service_admin_or_token_subject', 'HEAD /v3/auth/tokens'],
  ['identity:validate_token', 'rule:service_admin_or_token_subject', 'GET /v3/auth/tokens'],
  ['identity:revoke_token', 'rule:admin_or_token_subject', 'DELETE /v3/auth/tokens'],
];
