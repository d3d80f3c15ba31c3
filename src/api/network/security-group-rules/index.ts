/**
 * /v2.0/security-group-rules: Neutron's security group rules (create, list, show, delete; a rule is
 * never updated), with `normalized_cidr` (the security-groups-normalized-cidr extension).
 */
import { owningProject } from '../../../network/access.ts';
import { securityGroupRuleNotFound } from '../../../network/security-group-errors.ts';
import {
  createSecurityGroupRule,
  deleteSecurityGroupRule,
  getSecurityGroupRule,
  listSecurityGroupRules,
} from '../../../network/security-group-rules.ts';
import { ensureDefaultForCaller } from '../../../network/security-groups.ts';
import { enumAttr, nullable, parseResourceBody, stringAttr, type AttributeSpecs } from '../attributes.ts';
import { listResponse, showFields } from '../list-query.ts';
import type { NetworkApiModule } from '../module.ts';
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

type IdParams = { Params: { id: string } };

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
  register(app, { database }) {
    const db = database.db;
    app.get('/v2.0/security-group-rules', async (request) => {
      await ensureDefaultForCaller(db, request.ctx, filteredProject(request));
      return listResponse(request, (await listSecurityGroupRules(db, request.ctx)) as never, {
        collection: 'security_group_rules',
        markerNotFound: securityGroupRuleNotFound,
      });
    });
    app.get<IdParams>('/v2.0/security-group-rules/:id', async (request) => ({
      security_group_rule: showFields(
        request,
        (await getSecurityGroupRule(db, request.ctx, request.params.id)) as never,
      ),
    }));
    app.post('/v2.0/security-group-rules', async (request, reply) => {
      const attrs = parseResourceBody('security_group_rule', request.body, SPECS, 'POST');
      const rule = await createSecurityGroupRule(db, request.ctx, {
        ...(attrs as unknown as Parameters<typeof createSecurityGroupRule>[2]),
        project_id: owningProject(request.ctx, attrs['project_id'] as string | undefined),
      });
      return reply.code(201).send({ security_group_rule: rule });
    });
    app.delete<IdParams>('/v2.0/security-group-rules/:id', async (request, reply) => {
      await deleteSecurityGroupRule(db, request.ctx, request.params.id);
      return reply.code(204).send();
    });
  },
};
