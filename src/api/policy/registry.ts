/**
 * The registry of default rules, per API. Each API evaluates its own set, as each OpenStack service has
 * its own enforcer: base rules of the same name (Nova's and Neutron's `admin_or_owner`) stay apart.
 */
import { BASE_RULES } from './defaults/base.ts';
import { COMPUTE_RULES } from './defaults/compute.ts';
import { IDENTITY_RULES } from './defaults/identity.ts';
import { IMAGE_RULES } from './defaults/image.ts';
import { NETWORK_BASE_RULES, NETWORK_RULES } from '../../network/policy-defaults.ts';
import type { RuleDefault } from '../../common/policy/types.ts';

export type PolicyApi = 'compute' | 'identity' | 'image' | 'network';
export const POLICY_APIS: readonly PolicyApi[] = ['compute', 'identity', 'image', 'network'];
export type { RuleDefault } from '../../common/policy/types.ts';

const NOVA_BASE = new Set([
  'context_is_admin',
  'admin_or_owner',
  'admin_api',
  'project_manager_api',
  'project_member_api',
  'project_reader_api',
  'project_manager_or_admin',
  'project_member_or_admin',
  'project_reader_or_admin',
  'service_api',
  'service_or_admin',
]);
const KEYSTONE_BASE = new Set([
  'context_is_admin',
  'admin_required',
  'service_api',
  'service_or_admin',
  'owner',
  'token_subject',
  'admin_or_token_subject',
  'service_admin_or_token_subject',
]);

function base(names: ReadonlySet<string>): RuleDefault[] {
  return BASE_RULES.filter(([name]) => names.has(name));
}

function keystoneBase(): RuleDefault[] {
  // Keystone's `service_or_admin` is built on its admin_required rule, not Nova's context_is_admin.
  return base(KEYSTONE_BASE).map(([name, check, doc]): RuleDefault =>
    name === 'service_or_admin' ? [name, 'rule:admin_required or rule:service_api', doc] : [name, check, doc],
  );
}

const CONTEXT_IS_ADMIN = BASE_RULES.find(([name]) => name === 'context_is_admin')!;

export const DEFAULT_RULES: Readonly<Record<PolicyApi, readonly RuleDefault[]>> = {
  compute: [...base(NOVA_BASE), ...COMPUTE_RULES],
  identity: [...keystoneBase(), ...IDENTITY_RULES],
  image: [CONTEXT_IS_ADMIN, ...IMAGE_RULES],
  network: [...NETWORK_BASE_RULES, ...NETWORK_RULES],
};

/** Whether any API registers `name`. */
export function isRegistered(name: string): boolean {
  return POLICY_APIS.some((api) => DEFAULT_RULES[api].some(([n]) => n === name));
}
