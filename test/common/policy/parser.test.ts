import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRule, PolicySyntaxError } from '../../../src/common/policy/parser.ts';

test('the empty rule and @ allow, ! denies', () => {
  assert.deepEqual(parseRule(''), { kind: 'true' });
  assert.deepEqual(parseRule('   '), { kind: 'true' });
  assert.deepEqual(parseRule('@'), { kind: 'true' });
  assert.deepEqual(parseRule('!'), { kind: 'false' });
});

test('checks are read by kind: rule, role, and any other field', () => {
  assert.deepEqual(parseRule('rule:admin_api'), { kind: 'rule', name: 'admin_api' });
  assert.deepEqual(parseRule('role:admin'), { kind: 'role', match: 'admin' });
  assert.deepEqual(parseRule('project_id:%(project_id)s'), {
    kind: 'generic',
    field: 'project_id',
    match: '%(project_id)s',
  });
  // Only the first colon splits: Neutron's attribute names have colons of their own.
  assert.deepEqual(parseRule('router:external:True'), { kind: 'generic', field: 'router', match: 'external:True' });
});

test('not binds tighter than and, and tighter than or', () => {
  assert.deepEqual(parseRule('role:a or role:b and not role:c'), {
    kind: 'or',
    checks: [
      { kind: 'role', match: 'a' },
      {
        kind: 'and',
        checks: [
          { kind: 'role', match: 'b' },
          { kind: 'not', check: { kind: 'role', match: 'c' } },
        ],
      },
    ],
  });
});

test('parentheses group, also when they touch the checks', () => {
  assert.deepEqual(parseRule('role:admin or (role:member and project_id:%(project_id)s)'), {
    kind: 'or',
    checks: [
      { kind: 'role', match: 'admin' },
      {
        kind: 'and',
        checks: [
          { kind: 'role', match: 'member' },
          { kind: 'generic', field: 'project_id', match: '%(project_id)s' },
        ],
      },
    ],
  });
  assert.deepEqual(parseRule('((  @ ))'), { kind: 'true' });
  assert.deepEqual(parseRule('NOT (role:a OR role:b)'), {
    kind: 'not',
    check: {
      kind: 'or',
      checks: [
        { kind: 'role', match: 'a' },
        { kind: 'role', match: 'b' },
      ],
    },
  });
});

test('malformed rules are refused with what is wrong', () => {
  const cases: [string, RegExp][] = [
    ['role:admin or', /rule ends where a check was expected/],
    ['(role:admin', /missing '\)'/],
    ['role:admin)', /unexpected '\)'/],
    ['and role:admin', /'and' where a check was expected/],
    ['role:admin role:member', /unexpected 'role:member'/],
    ['admin', /'admin' is not a check/],
    ['role:', /'role:' is not a check/],
    [':admin', /':admin' is not a check/],
    ['project_id:%(project_id)d', /not a %\(name\)s substitution/],
    ['http://policy.example/check', /not supported/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseRule(text),
      (err: unknown) => err instanceof PolicySyntaxError && message.test(String(err)),
      text,
    );
  }
});
