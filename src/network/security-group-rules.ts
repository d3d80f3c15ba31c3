/**
 * Security group rules: list, show, create and delete (Neutron has no update of a rule). A rule is
 * checked and made canonical by security-group-rule-check.ts; a duplicate of a rule the group already
 * has is refused with the existing rule's id. The group's row is locked while a rule is added, so two
 * identical rules racing each other cannot both get in.
 */
import type { RequestContext } from '../common/context.ts';
import type { Db } from '../common/db/database.ts';
import { now } from '../common/db/schema.ts';
import { requireNetworkPolicy } from './access.ts';
import { inTransaction } from './transaction.ts';
import { securityGroupNotFound } from './errors.ts';
import { checkQuota } from './quotas.ts';
import { SecurityGroupRuleExists, securityGroupRuleNotFound } from './security-group-errors.ts';
import { canonicalRule, ruleKey, type CanonicalRule, type RuleInput } from './security-group-rule-check.ts';
import { lockVisibleGroup, newRuleRow, ruleRecord, type SecurityGroupRuleRecord } from './security-groups.ts';

export interface SecurityGroupRuleCreate extends RuleInput {
  project_id: string;
  security_group_id: string;
  description?: string;
}

/** Rules the caller sees: an admin all; others those of their groups and those they own. */
export async function listSecurityGroupRules(db: Db, ctx: RequestContext): Promise<SecurityGroupRuleRecord[]> {
  let query = db.selectFrom('security_group_rules').selectAll('security_group_rules');
  if (!ctx.isAdmin) {
    const project = ctx.projectId ?? '';
    query = query
      .innerJoin('security_groups', 'security_groups.id', 'security_group_rules.security_group_id')
      .where((eb) =>
        eb.or([eb('security_groups.project_id', '=', project), eb('security_group_rules.project_id', '=', project)]),
      );
  }
  return (await query.execute()).map(ruleRecord);
}

export async function getSecurityGroupRule(db: Db, ctx: RequestContext, id: string): Promise<SecurityGroupRuleRecord> {
  const row = await db.selectFrom('security_group_rules').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw securityGroupRuleNotFound(id);
  if (!ctx.isAdmin && row.project_id !== ctx.projectId) {
    const group = await db
      .selectFrom('security_groups')
      .select('project_id')
      .where('id', '=', row.security_group_id)
      .executeTakeFirst();
    if (group?.project_id !== ctx.projectId) throw securityGroupRuleNotFound(id);
  }
  return ruleRecord(row);
}

function rowAsCanonical(row: CanonicalRule): CanonicalRule {
  const { direction, ethertype, protocol, port_range_min, port_range_max, remote_ip_prefix, remote_group_id } = row;
  return { direction, ethertype, protocol, port_range_min, port_range_max, remote_ip_prefix, remote_group_id };
}

export async function createSecurityGroupRule(
  db: Db,
  ctx: RequestContext,
  input: SecurityGroupRuleCreate,
): Promise<SecurityGroupRuleRecord> {
  requireNetworkPolicy(ctx, 'create_security_group_rule', { project_id: input.project_id });
  const rule = canonicalRule(input);
  // Both groups must be the rule's project's (or visible to an admin), as Neutron checks them.
  const visibleTo = (projectId: string) => ctx.isAdmin || projectId === input.project_id;
  if (rule.remote_group_id) {
    const remote = await db
      .selectFrom('security_groups')
      .select('project_id')
      .where('id', '=', rule.remote_group_id)
      .executeTakeFirst();
    if (!remote || !visibleTo(remote.project_id)) throw securityGroupNotFound(rule.remote_group_id);
  }
  const row = newRuleRow(input.project_id, input.security_group_id, rule, input.description ?? '');
  await inTransaction(db, async (trx) => {
    const group = await lockVisibleGroup(db, trx, ctx, input.security_group_id);
    if (!visibleTo(group.project_id)) throw securityGroupNotFound(input.security_group_id);
    const existing = await trx
      .selectFrom('security_group_rules')
      .selectAll()
      .where('security_group_id', '=', group.id)
      .execute();
    const key = ruleKey(rule);
    const same = existing.find((r) => ruleKey(rowAsCanonical(r as CanonicalRule)) === key);
    if (same) throw new SecurityGroupRuleExists(`Security group rule already exists. Rule id is ${same.id}.`);
    await checkQuota(trx, input.project_id, 'security_group_rule', 1);
    await trx.insertInto('security_group_rules').values(row).execute();
    await trx
      .updateTable('security_groups')
      .set({ revision_number: group.revision_number + 1, updated_at: now() })
      .where('id', '=', group.id)
      .execute();
  });
  return ruleRecord(row);
}

export async function deleteSecurityGroupRule(db: Db, ctx: RequestContext, id: string): Promise<void> {
  const rule = await getSecurityGroupRule(db, ctx, id);
  await inTransaction(db, async (trx) => {
    const deleted = await trx.deleteFrom('security_group_rules').where('id', '=', id).executeTakeFirst();
    if (Number(deleted.numDeletedRows) === 0) throw securityGroupRuleNotFound(id);
    await trx
      .updateTable('security_groups')
      .set((eb) => ({ revision_number: eb('revision_number', '+', 1), updated_at: now() }))
      .where('id', '=', rule.security_group_id)
      .execute();
  });
}
