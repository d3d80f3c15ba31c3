/**
 * /v2.0/security-groups: Neutron's security group resource (the `security-group` extension with
 * `stateful-security-group`). Looking at groups makes the caller's `default` group first, as Neutron
 * does, so a new project always finds it.
 */
import { securityGroupNotFound } from '../../../network/errors.ts';
import {
  createSecurityGroup,
  deleteSecurityGroup,
  ensureDefaultForCaller,
  getSecurityGroup,
  listSecurityGroups,
  updateSecurityGroup,
  type SecurityGroupCreate,
  type SecurityGroupUpdate,
} from '../../../network/security-groups.ts';
import { booleanAttr, stringAttr, type AttributeSpecs } from '../attributes.ts';
import { TAGS_READ_ONLY } from '../tags.ts';
import type { NetworkApiModule } from '../module.ts';
import { registerResourceRoutes } from '../resource-routes.ts';
import { filteredProject } from './project-filter.ts';

const SPECS: AttributeSpecs = {
  name: { allowPost: true, allowPut: true, convert: stringAttr(255) },
  description: { allowPost: true, allowPut: true, convert: stringAttr(255) },
  stateful: { allowPost: true, allowPut: true, convert: booleanAttr },
  project_id: { allowPost: true, allowPut: false, convert: stringAttr(255) },
  tags: TAGS_READ_ONLY,
};

export const securityGroupsModule: NetworkApiModule = {
  resources: [{ name: 'security_group', collection: 'security-groups' }],
  extensions: [
    {
      alias: 'security-group',
      name: 'security-group',
      description: 'Security groups: sets of firewall rules applied to the ports that belong to them.',
      updated: '2012-10-05T10:00:00-00:00',
    },
    {
      alias: 'stateful-security-group',
      name: 'Stateful security group',
      description: 'A security group says whether its rules track connections (stateful) or not.',
      updated: '2019-11-26T09:00:00-00:00',
    },
  ],
  register(app, { database }) {
    const db = database.db;
    registerResourceRoutes(app, {
      member: 'security_group',
      collection: 'security_groups',
      path: '/v2.0/security-groups',
      specs: SPECS,
      notFound: securityGroupNotFound,
      tagsFrom: db,
      beforeList: (request) => ensureDefaultForCaller(db, request.ctx, filteredProject(request)),
      list: (ctx) => listSecurityGroups(db, ctx),
      get: (ctx, id) => getSecurityGroup(db, ctx, id),
      create: (ctx, attrs) => createSecurityGroup(db, ctx, attrs as SecurityGroupCreate),
      update: (ctx, id, attrs) => updateSecurityGroup(db, ctx, id, attrs as SecurityGroupUpdate),
      remove: (ctx, id) => deleteSecurityGroup(db, ctx, id),
    });
  },
};
