/**
 * The base rules the API rules refer to with `rule:`, under the names Nova, Keystone and Neutron give
 * them. Nova's role-based ones (project_member_api, project_reader_api, ...) are registered too though
 * the defaults use the legacy ones, so a policy file can switch an action to them by name.
 */
import type { RuleDefault } from '../../../common/policy/types.ts';

export const BASE_RULES: readonly RuleDefault[] = [
  ['context_is_admin', 'role:admin', 'Who the APIs treat as an administrator: sees every project'],
  ['admin_or_owner', 'is_admin:True or project_id:%(project_id)s', 'An administrator, or the owning project'],
  ['admin_api', 'is_admin:True', 'Administrators only'],
  ['project_manager_api', 'role:manager and project_id:%(project_id)s', 'A manager of the owning project'],
  ['project_member_api', 'role:member and project_id:%(project_id)s', 'A member of the owning project'],
  ['project_reader_api', 'role:reader and project_id:%(project_id)s', 'A reader of the owning project'],
  ['project_manager_or_admin', 'rule:project_manager_api or rule:context_is_admin', 'Project manager or admin'],
  ['project_member_or_admin', 'rule:project_member_api or rule:context_is_admin', 'Project member or admin'],
  ['project_reader_or_admin', 'rule:project_reader_api or rule:context_is_admin', 'Project reader or admin'],
  ['service_api', 'role:service', 'A service user'],
  ['service_or_admin', 'rule:service_api or rule:context_is_admin', 'A service user or an administrator'],
  // Keystone's.
  ['admin_required', 'role:admin or is_admin:1', 'Identity: administrators only'],
  ['owner', 'user_id:%(user_id)s', 'Identity: the user the request is about'],
  ['token_subject', 'user_id:%(target.token.user_id)s', 'Identity: the user the subject token was issued to'],
  ['admin_or_token_subject', 'rule:admin_required or rule:token_subject', 'Identity: admin or token subject'],
  [
    'service_admin_or_token_subject',
    'rule:service_or_admin or rule:token_subject',
    'Identity: service, admin or token subject',
  ],
];
