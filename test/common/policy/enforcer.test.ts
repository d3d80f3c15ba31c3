import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate, findCycle, parseRules, type Credentials, type Target } from '../../../src/common/policy/enforcer.ts';

const RULES = parseRules({
  context_is_admin: 'role:admin',
  admin_or_owner: 'is_admin:True or project_id:%(project_id)s',
  admin_api: 'is_admin:True',
  member_of_project: 'role:member and project_id:%(project_id)s',
  keypair: 'rule:admin_api or user_id:%(user_id)s',
  nested: 'token.project.domain.id:%(target.domain.id)s',
  literal: "'public':%(visibility)s",
  missing_rule: 'rule:no_such_rule',
  negated: 'not role:reader',
});

const alice: Credentials = { user_id: 'alice', project_id: 'p1', roles: ['Member', 'reader'], is_admin: false };
const admin: Credentials = { user_id: 'root', project_id: 'adm', roles: ['admin'], is_admin: true };
const own: Target = { project_id: 'p1', user_id: 'alice' };
const other: Target = { project_id: 'p2', user_id: 'bob' };

function allows(rule: string, target: Target, creds: Credentials): boolean {
  return evaluate(RULES.get(rule)!, RULES, target, creds);
}

test('is_admin:True compares with the credential as Python prints it', () => {
  assert.equal(allows('admin_api', own, admin), true);
  assert.equal(allows('admin_api', own, alice), false);
});

test('project_id:%(project_id)s matches the target owner only', () => {
  assert.equal(allows('admin_or_owner', own, alice), true);
  assert.equal(allows('admin_or_owner', other, alice), false);
  assert.equal(allows('admin_or_owner', other, admin), true);
});

test('roles compare case-insensitively, and and/or/not combine', () => {
  assert.equal(allows('member_of_project', own, alice), true);
  assert.equal(allows('member_of_project', other, alice), false);
  assert.equal(allows('negated', own, alice), false);
  assert.equal(allows('negated', own, admin), true);
});

test('rule: follows other rules; a rule no one defined denies', () => {
  assert.equal(allows('keypair', own, alice), true);
  assert.equal(allows('keypair', other, alice), false);
  assert.equal(allows('keypair', other, admin), true);
  assert.equal(allows('missing_rule', own, admin), false);
});

test('a substitution the target lacks fails the check instead of matching an empty value', () => {
  assert.equal(allows('admin_or_owner', {}, alice), false);
  assert.equal(allows('admin_or_owner', {}, { ...alice, project_id: '' }), false);
});

test('dotted fields walk into nested credentials; quoted left sides are literals', () => {
  const creds: Credentials = { ...alice, token: { project: { domain: { id: 'default' } } } };
  assert.equal(allows('nested', { 'target.domain.id': 'default' }, creds), true);
  assert.equal(allows('nested', { 'target.domain.id': 'other' }, creds), false);
  assert.equal(allows('nested', { 'target.domain.id': 'default' }, alice), false);
  assert.equal(allows('literal', { visibility: 'public' }, alice), true);
  assert.equal(allows('literal', { visibility: 'private' }, alice), false);
});

test('list credentials match when any element does', () => {
  const rules = parseRules({ r: 'groups:%(group)s' });
  const creds: Credentials = { groups: ['a', 'b'] };
  assert.equal(evaluate(rules.get('r')!, rules, { group: 'b' }, creds), true);
  assert.equal(evaluate(rules.get('r')!, rules, { group: 'c' }, creds), false);
});

test('rules that refer to each other in a loop are found', () => {
  assert.deepEqual(findCycle(parseRules({ a: 'rule:b', b: 'role:x or rule:c', c: 'rule:a' })), ['a', 'b', 'c', 'a']);
  assert.equal(findCycle(RULES), null);
});
