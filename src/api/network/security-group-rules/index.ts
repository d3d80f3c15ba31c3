/**
 * /v2.0/security-group-rules: Neutron's security group rules (create, list, show, delete; a rule is
 * never updated), with `normalized_cidr` (the security-groups-normalized-cidr extension).
 */
import { securityGroupRuleNotFound } from '../../../network/security-group-errors.ts';
import {
  createSecurityGroupRule,
  deleteSecurityGroupRule,
  getSecurityGroupRule,
  listSecurityGroupRules,
  type SecurityGroupRuleCreate,
} from '../../../network/security-group-rules.ts';
import { ensureDefaultForCaller } from '../../../network/security-groups.ts';
import { enumAttr, nullable, stringAttr, type AttributeSpecs } from '../attributes.ts';
import { HostNotices } from '../host-notices.ts';
import type { NetworkApiModule } from '../module.ts';
import { registerResourceRoutes } from '../resource-routes.ts';
import { filteredProject } from '../security-groups/project-filter.ts';

// Protocol, ports, ethertype and prefix are converted by the rule check, which raises Neutron's own
// exceptions for them (SecurityGroupRuleInvalidProtocol, ...) rather than the generic attribute error.
const SPECS: AttributeSpecs = {
  security_group_id: { allowPost: true, allowPut: false, required: true, convert: stringAttr(36) },
  direction: { allowPost: true, allowPut: false, required: true, convert: enumAttr(['ingress', 'egress']) },
  ethertype: { allowPost: true, allowPut: false },
  protocol: { allowPost: true, allowPut: false },
  port_range_min: { allowPost: true, allowPut: false },
  port_range_max: { allowPost: true, allowPut: false },
  remote_ip_prefix: { allowPost: true, allowPut: false },
  remote_group_id: { allowPost: true, allowPut: false, convert: nullable(stringAttr(36)) },
  description: { allowPost: true, allowPut: true, convert: stringAttr(255) },
  project_id: { allowPost: true, allowPut: false, convert: stringAttr(255) },
};

export const securityGroupRulesModule: NetworkApiModule = {
  resources: [{ name: 'security_group_rule', collection: 'security-group-rules' }],
  extensions: [
    {
      alias: 'security-groups-normalized-cidr',
      name: 'Normalized CIDR field for security group rules',
      description: 'Rules show normalized_cidr: their remote_ip_prefix with the host bits cleared.',
      updated: '2020-07-28T10:00:00-00:00',
    },
  ],
  register(app, deps) {
    const db = deps.database.db;
    const notices = new HostNotices(deps);
    registerResourceRoutes(app, {
      member: 'security_group_rule',
      collection: 'security_group_rules',
      path: '/v2.0/security-group-rules',
      specs: SPECS,
      notFound: securityGroupRuleNotFound,
      beforeList: (request) => ensureDefaultForCaller(db, request.ctx, filteredProject(request)),
      list: (ctx) => listSecurityGroupRules(db, ctx),
      get: (ctx, id) => getSecurityGroupRule(db, ctx, id),
      create: async (ctx, attrs) => {
        const rule = await createSecurityGroupRule(db, ctx, attrs as unknown as SecurityGroupRuleCreate);
        await notices.groupRulesChanged(ctx, rule.security_group_id);
        return rule;
      },
      remove: async (ctx, id) => {
        const { security_group_id: groupId } = await getSecurityGroupRule(db, ctx, id);
        await deleteSecurityGroupRule(db, ctx, id);
        await notices.groupRulesChanged(ctx, groupId);
      },
    });
  },
};
