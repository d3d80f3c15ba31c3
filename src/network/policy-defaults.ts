/**
 * The Networking API's rules: Neutron's names (neutron/conf/policies) for the resources and attributes
 * Stratus serves, with Neutron's legacy defaults: a project's own resources for its members, the
 * provider, binding and address-choosing attributes for admins. Attribute rules are named
 * `<action>:<attribute>` and checked only when a request sets (or a view would show) that attribute.
 * They live with the network library, which enforces them itself (access.ts) as Neutron's plugin does.
 */
import type { RuleDefault } from '../common/policy/types.ts';

const OWNER = 'rule:admin_or_owner';
const ADMIN = 'rule:admin_only';

function resource(name: string, path: string, read = OWNER): RuleDefault[] {
  return [
    [`create_${name}`, OWNER, `POST ${path}`],
    [`get_${name}`, read, `GET ${path}; GET ${path}/{id}`],
    [`update_${name}`, OWNER, `PUT ${path}/{id}`],
    [`delete_${name}`, OWNER, `DELETE ${path}/{id}`],
  ];
}

function attributes(actions: readonly string[], attrs: readonly string[], check: string, path: string): RuleDefault[] {
  return actions.flatMap((a) => attrs.map((attr): RuleDefault => [`${a}:${attr}`, check, `${path} (${attr})`]));
}

const PROVIDER = ['provider:network_type', 'provider:physical_network', 'provider:segmentation_id'];
const GATEWAY = ['external_gateway_info:enable_snat', 'external_gateway_info:external_fixed_ips'];

export const NETWORK_BASE_RULES: readonly RuleDefault[] = [
  ['context_is_admin', 'role:admin', 'Networking: who is an administrator'],
  ['owner', 'project_id:%(project_id)s', 'Networking: the owning project'],
  ['admin_or_owner', 'rule:context_is_admin or rule:owner', 'Networking: admin or the owning project'],
  ['admin_only', 'rule:context_is_admin', 'Networking: administrators only'],
  ['regular_user', '', 'Networking: any authenticated user'],
];

export const NETWORK_RULES: readonly RuleDefault[] = [
  ...resource('network', '/v2.0/networks', `${OWNER} or rule:shared or rule:external`),
  // Neutron writes these with its field: check; oslo's generic check with a literal left side says the same.
  ['shared', "'True':%(shared)s", 'Networking: a shared network (target attribute)'],
  ['external', "'True':%(router:external)s", 'Networking: an external network (target attribute)'],
  ...attributes(
    ['create_network', 'update_network'],
    ['shared', 'router:external', ...PROVIDER],
    ADMIN,
    '/v2.0/networks',
  ),
  ...attributes(['get_network'], PROVIDER, ADMIN, 'GET /v2.0/networks'),
  ...resource('subnet', '/v2.0/subnets', `${OWNER} or rule:shared`),
  ...resource('port', '/v2.0/ports'),
  // The network's owner may choose addresses on it (the target is the network's project), as in Neutron.
  ...attributes(['create_port'], ['mac_address', 'fixed_ips:ip_address'], OWNER, 'POST /v2.0/ports'),
  ...attributes(['create_port'], ['binding:host_id', 'binding:profile'], ADMIN, 'POST /v2.0/ports'),
  ...attributes(['update_port'], ['mac_address', 'binding:host_id', 'binding:profile'], ADMIN, 'PUT /v2.0/ports/{id}'),
  ...attributes(
    ['get_port'],
    ['binding:host_id', 'binding:vif_type', 'binding:vif_details', 'binding:profile'],
    ADMIN,
    'GET /v2.0/ports',
  ),
  ...resource('router', '/v2.0/routers'),
  ...attributes(['create_router', 'update_router'], GATEWAY, ADMIN, '/v2.0/routers'),
  ['add_router_interface', OWNER, 'PUT /v2.0/routers/{id}/add_router_interface'],
  ['remove_router_interface', OWNER, 'PUT /v2.0/routers/{id}/remove_router_interface'],
  ...resource('floatingip', '/v2.0/floatingips'),
  ['create_floatingip:floating_ip_address', ADMIN, 'POST /v2.0/floatingips (floating_ip_address)'],
  ...resource('security_group', '/v2.0/security-groups'),
  ['create_security_group_rule', OWNER, 'POST /v2.0/security-group-rules'],
  ['get_security_group_rule', OWNER, 'GET /v2.0/security-group-rules; GET /v2.0/security-group-rules/{id}'],
  ['delete_security_group_rule', OWNER, 'DELETE /v2.0/security-group-rules/{id}'],
  ['get_quota', ADMIN, 'GET /v2.0/quotas; GET /v2.0/quotas/{project_id}'],
  ['update_quota', ADMIN, 'PUT /v2.0/quotas/{project_id}'],
  ['delete_quota', ADMIN, 'DELETE /v2.0/quotas/{project_id}'],
];
