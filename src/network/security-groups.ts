/**
 * Security groups: create, read, update and delete with Neutron's rules, and each project's `default`
 * group (default-security-group.ts makes it, once, on first use; here it is protected from renaming
 * and from deletion by its project). Rules live in security-group-rules.ts; what a port's groups amount
 * to for the datapath in security-group-port-rules.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { RequestContext } from '../common/context.ts';
import type { Db } from '../common/db/database.ts';
import { lockRows } from '../common/db/row-locks.ts';
import { now, type Schema, type SecurityGroupRulesTable, type SecurityGroupsTable } from '../common/db/schema.ts';
import { ownsOrAdmin, requireNetworkPolicy } from './access.ts';
import { DEFAULT_GROUP_NAME, ensureDefaultSecurityGroup } from './default-security-group.ts';
import { inTransaction } from './transaction.ts';
import { securityGroupNotFound } from './errors.ts';
import { checkQuota } from './quotas.ts';
import {
  SecurityGroupCannotRemoveDefault,
  SecurityGroupCannotUpdateDefault,
  SecurityGroupDefaultAlreadyExists,
  securityGroupInUse,
} from './security-group-errors.ts';
import { normalizedCidr, type CanonicalRule } from './security-group-rule-check.ts';
import { standardAttributes } from './standard-attributes.ts';

export interface SecurityGroupRuleRecord {
  id: string;
  tenant_id: string;
  project_id: string;
  security_group_id: string;
  direction: string;
  ethertype: string;
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  normalized_cidr: string | null;
  description: string;
  created_at: string;
  updated_at: string;
  revision_number: number;
}

export interface SecurityGroupRecord {
  id: string;
  name: string;
  stateful: boolean;
  tenant_id: string;
  project_id: string;
  description: string;
  security_group_rules: SecurityGroupRuleRecord[];
  created_at: string;
  updated_at: string;
  revision_number: number;
}

export interface SecurityGroupCreate {
  project_id: string;
  name?: string;
  description?: string;
  stateful?: boolean;
}

export type SecurityGroupUpdate = Partial<Pick<SecurityGroupCreate, 'name' | 'description' | 'stateful'>>;

export function ruleRecord(row: SecurityGroupRulesTable): SecurityGroupRuleRecord {
  return {
    id: row.id,
    tenant_id: row.project_id,
    project_id: row.project_id,
    security_group_id: row.security_group_id,
    direction: row.direction,
    ethertype: row.ethertype,
    protocol: row.protocol,
    port_range_min: row.port_range_min,
    port_range_max: row.port_range_max,
    remote_ip_prefix: row.remote_ip_prefix,
    remote_group_id: row.remote_group_id,
    normalized_cidr: normalizedCidr(row.remote_ip_prefix),
    ...standardAttributes(row),
  };
}

function groupRecord(row: SecurityGroupsTable, rules: SecurityGroupRulesTable[]): SecurityGroupRecord {
  return {
    id: row.id,
    name: row.name,
    stateful: row.stateful === 1,
    tenant_id: row.project_id,
    project_id: row.project_id,
    security_group_rules: rules.map(ruleRecord),
    ...standardAttributes(row),
  };
}

async function recordsOf(db: Db, rows: SecurityGroupsTable[]): Promise<SecurityGroupRecord[]> {
  if (rows.length === 0) return [];
  const rules = await db
    .selectFrom('security_group_rules')
    .selectAll()
    .where(
      'security_group_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((row) =>
    groupRecord(
      row,
      rules.filter((r) => r.security_group_id === row.id),
    ),
  );
}

/** A rule row with its standard attributes filled in. */
export function newRuleRow(
  projectId: string,
  groupId: string,
  rule: CanonicalRule,
  description = '',
): SecurityGroupRulesTable {
  const at = now();
  return {
    id: randomUUID(),
    project_id: projectId,
    security_group_id: groupId,
    ...rule,
    remote_address_group_id: null,
    description,
    revision_number: 0,
    created_at: at,
    updated_at: at,
  };
}

/** Neutron's rules for a new group: its members may send anywhere. */
const ANY_EGRESS: CanonicalRule[] = (['IPv4', 'IPv6'] as const).map((ethertype) => ({
  direction: 'egress',
  ethertype,
  protocol: null,
  port_range_min: null,
  port_range_max: null,
  remote_ip_prefix: null,
  remote_group_id: null,
}));

async function insertGroup(
  trx: Transaction<Schema>,
  fields: { project_id: string; name: string; description: string; stateful: boolean },
): Promise<string> {
  const id = randomUUID();
  const at = now();
  await trx
    .insertInto('security_groups')
    .values({
      id,
      project_id: fields.project_id,
      name: fields.name,
      description: fields.description,
      stateful: fields.stateful ? 1 : 0,
      revision_number: 0,
      created_at: at,
      updated_at: at,
    })
    .execute();
  await trx
    .insertInto('security_group_rules')
    .values(ANY_EGRESS.map((rule) => newRuleRow(fields.project_id, id, rule)))
    .execute();
  return id;
}

/** Neutron makes the caller's default group when it first looks at groups or rules. */
export async function ensureDefaultForCaller(db: Db, ctx: RequestContext, projectFilter?: string): Promise<void> {
  const projectId = projectFilter ?? ctx.projectId;
  if (!projectId || !ownsOrAdmin(ctx, projectId, 'get_security_group')) return;
  await ensureDefaultSecurityGroup(db, projectId);
}

export async function listSecurityGroups(db: Db, ctx: RequestContext): Promise<SecurityGroupRecord[]> {
  let query = db.selectFrom('security_groups').selectAll();
  if (!ctx.isAdmin) query = query.where('project_id', '=', ctx.projectId ?? '');
  return recordsOf(db, await query.execute());
}

/** The group row, when the caller may see it (another project's group is "not found"). */
export async function visibleGroupRow(db: Db, ctx: RequestContext, id: string): Promise<SecurityGroupsTable> {
  const row = await db.selectFrom('security_groups').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !ownsOrAdmin(ctx, row.project_id, 'get_security_group')) throw securityGroupNotFound(id);
  return row;
}

export async function getSecurityGroup(db: Db, ctx: RequestContext, id: string): Promise<SecurityGroupRecord> {
  return (await recordsOf(db, [await visibleGroupRow(db, ctx, id)]))[0]!;
}

function refuseDefaultName(name: string | undefined): void {
  if (name !== undefined && name.toLowerCase() === DEFAULT_GROUP_NAME) {
    throw new SecurityGroupDefaultAlreadyExists('Default security group already exists.');
  }
}

export async function createSecurityGroup(
  db: Db,
  ctx: RequestContext,
  input: SecurityGroupCreate,
): Promise<SecurityGroupRecord> {
  requireNetworkPolicy(ctx, 'create_security_group', { project_id: input.project_id });
  refuseDefaultName(input.name);
  await ensureDefaultSecurityGroup(db, input.project_id);
  const id = await inTransaction(db, async (trx) => {
    await checkQuota(trx, input.project_id, 'security_group', 1);
    await checkQuota(trx, input.project_id, 'security_group_rule', ANY_EGRESS.length);
    return insertGroup(trx, {
      project_id: input.project_id,
      name: input.name ?? '',
      description: input.description ?? '',
      stateful: input.stateful ?? true,
    });
  });
  return getSecurityGroup(db, ctx, id);
}

async function portsUsing(db: Db | Transaction<Schema>, groupId: string): Promise<number> {
  const row = await db
    .selectFrom('security_group_port_bindings')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('security_group_id', '=', groupId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The group's row, locked for the rest of the transaction, when the caller may see it. */
export async function lockVisibleGroup(
  db: Db,
  trx: Transaction<Schema>,
  ctx: RequestContext,
  id: string,
): Promise<SecurityGroupsTable> {
  const row = await lockRows(db, trx.selectFrom('security_groups').selectAll().where('id', '=', id)).executeTakeFirst();
  if (!row || !ownsOrAdmin(ctx, row.project_id, 'get_security_group')) throw securityGroupNotFound(id);
  return row;
}

export async function updateSecurityGroup(
  db: Db,
  ctx: RequestContext,
  id: string,
  changes: SecurityGroupUpdate,
): Promise<SecurityGroupRecord> {
  await inTransaction(db, async (trx) => {
    const row = await lockVisibleGroup(db, trx, ctx, id);
    if (changes.name !== undefined && row.name === DEFAULT_GROUP_NAME) {
      throw new SecurityGroupCannotUpdateDefault('Updating default security group not allowed.');
    }
    refuseDefaultName(changes.name);
    // The datapath applies a group's statefulness to every port at once: not while ports use it.
    if (
      changes.stateful !== undefined &&
      changes.stateful !== (row.stateful === 1) &&
      (await portsUsing(trx, id)) > 0
    ) {
      throw securityGroupInUse(id);
    }
    await trx
      .updateTable('security_groups')
      .set({
        ...(changes.name !== undefined ? { name: changes.name } : {}),
        ...(changes.description !== undefined ? { description: changes.description } : {}),
        ...(changes.stateful !== undefined ? { stateful: changes.stateful ? 1 : 0 } : {}),
        revision_number: row.revision_number + 1,
        updated_at: now(),
      })
      .where('id', '=', id)
      .execute();
  });
  return getSecurityGroup(db, ctx, id);
}

export async function deleteSecurityGroup(db: Db, ctx: RequestContext, id: string): Promise<void> {
  await inTransaction(db, async (trx) => {
    const row = await lockVisibleGroup(db, trx, ctx, id);
    if ((await portsUsing(trx, id)) > 0) throw securityGroupInUse(id);
    if (row.name === DEFAULT_GROUP_NAME && !ctx.isAdmin) {
      throw new SecurityGroupCannotRemoveDefault('Insufficient rights for removing default security group.');
    }
    // Rules of other groups that name this one as their remote go with it, as Neutron's cascade does.
    await trx.deleteFrom('security_group_rules').where('security_group_id', '=', id).execute();
    await trx.deleteFrom('security_group_rules').where('remote_group_id', '=', id).execute();
    await trx.deleteFrom('default_security_groups').where('security_group_id', '=', id).execute();
    await trx.deleteFrom('network_tags').where('resource_id', '=', id).execute();
    await trx.deleteFrom('security_groups').where('id', '=', id).execute();
  });
}
