/**
 * /v2.0/security-groups: Neutron's security group resource (the `security-group` extension with
 * `stateful-security-group`). Looking at groups makes the caller's `default` group first, as Neutron
 * does, so a new project always finds it.
 */
import { owningProject } from '../../../network/access.ts';
import { securityGroupNotFound } from '../../../network/errors.ts';
import {
  createSecurityGroup,
  deleteSecurityGroup,
  ensureDefaultForCaller,
  getSecurityGroup,
  listSecurityGroups,
  updateSecurityGroup,
  type SecurityGroupUpdate,
} from '../../../network/security-groups.ts';
import { booleanAttr, parseResourceBody, stringAttr, type AttributeSpecs } from '../attributes.ts';
import { listResponse, showFields } from '../list-query.ts';
import type { NetworkApiModule } from '../module.ts';
import { filteredProject } from './project-filter.ts';

const SPECS: AttributeSpecs = {
  name: { allowPost: true, allowPut: true, convert: stringAttr(255) },
  description: { allowPost: true, allowPut: true, convert: stringAttr(255) },
  stateful: { allowPost: true, allowPut: true, convert: booleanAttr },
  project_id: { allowPost: true, allowPut: false, convert: stringAttr(255) },
};

type IdParams = { Params: { id: string } };

/** The project a list looks at: the one it filters on (project_id or tenant_id), else the caller's. */

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
    app.get('/v2.0/security-groups', async (request) => {
      await ensureDefaultForCaller(db, request.ctx, filteredProject(request));
      return listResponse(request, (await listSecurityGroups(db, request.ctx)) as never, {
        collection: 'security_groups',
        markerNotFound: securityGroupNotFound,
      });
    });
    app.get<IdParams>('/v2.0/security-groups/:id', async (request) => ({
      security_group: showFields(request, (await getSecurityGroup(db, request.ctx, request.params.id)) as never),
    }));
    app.post('/v2.0/security-groups', async (request, reply) => {
      const attrs = parseResourceBody('security_group', request.body, SPECS, 'POST');
      const group = await createSecurityGroup(db, request.ctx, {
        ...(attrs as { name?: string; description?: string; stateful?: boolean }),
        project_id: owningProject(request.ctx, attrs['project_id'] as string | undefined),
      });
      return reply.code(201).send({ security_group: group });
    });
    app.put<IdParams>('/v2.0/security-groups/:id', async (request) => {
      const attrs = parseResourceBody('security_group', request.body, SPECS, 'PUT') as SecurityGroupUpdate;
      return { security_group: await updateSecurityGroup(db, request.ctx, request.params.id, attrs) };
    });
    app.delete<IdParams>('/v2.0/security-groups/:id', async (request, reply) => {
      await deleteSecurityGroup(db, request.ctx, request.params.id);
      return reply.code(204).send();
    });
  },
};
