import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Policy, PolicyFileError, resolvePolicyFile, UnregisteredRule } from '../../../src/api/policy/index.ts';
import { DEFAULT_RULES, POLICY_APIS } from '../../../src/api/policy/registry.ts';
import { parseRule } from '../../../src/common/policy/parser.ts';
import { packageRoot } from '../../../src/common/package-root.ts';
import { findCycle, parseRules } from '../../../src/common/policy/enforcer.ts';

const member = { user_id: 'u1', project_id: 'p1', roles: ['member', 'reader'], is_admin: false };
const operator = { user_id: 'u2', project_id: 'p1', roles: ['operator'], is_admin: false };
const admin = { user_id: 'u0', project_id: 'p0', roles: ['admin'], is_admin: true };
const own = { project_id: 'p1', user_id: 'u1' };

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'stratus-policy-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('every registered default parses, is unique per API, and no API has a loop of rules', () => {
  for (const api of POLICY_APIS) {
    const names = DEFAULT_RULES[api].map(([name]) => name);
    assert.equal(new Set(names).size, names.length, `${api} registers a name twice`);
    for (const [name, check] of DEFAULT_RULES[api]) assert.doesNotThrow(() => parseRule(check), name);
    const rules = parseRules(Policy.defaults(api));
    assert.equal(findCycle(rules), null);
    // Every rule: reference resolves within the API's own set.
    for (const [name, check] of DEFAULT_RULES[api]) {
      for (const ref of check.match(/rule:([\w:-]+)/g) ?? []) {
        assert.ok(rules.has(ref.slice(5)), `${api} ${name} refers to unknown ${ref}`);
      }
    }
  }
});

test('the defaults: admin-only rules for admins, project rules for the owning project', () => {
  const policy = new Policy(null);
  assert.equal(policy.allows('compute', 'os_compute_api:os-hypervisors:list', {}, admin), true);
  assert.equal(policy.allows('compute', 'os_compute_api:os-hypervisors:list', {}, member), false);
  assert.equal(policy.allows('compute', 'os_compute_api:servers:create', own, member), true);
  assert.equal(policy.allows('compute', 'os_compute_api:servers:show', { project_id: 'p2' }, member), false);
  assert.equal(policy.allows('identity', 'identity:get_user', { 'target.user.id': 'u1' }, member), true);
  assert.equal(policy.allows('identity', 'identity:get_user', { 'target.user.id': 'u9' }, member), false);
  assert.equal(policy.allows('network', 'create_network:shared', own, member), false);
  assert.throws(() => policy.allows('compute', 'os_compute_api:no-such-rule', {}, admin), UnregisteredRule);
  // Each API has its own rules: Neutron's names are not the compute API's.
  assert.throws(() => policy.allows('compute', 'create_network', own, admin), UnregisteredRule);
});

test('a policy file overrides the defaults, and a missing one leaves them', () => {
  withDir((dir) => {
    const file = join(dir, 'policy.yaml');
    assert.equal(new Policy(file).allows('compute', 'os_compute_api:os-services:list', {}, operator), false);
    writeFileSync(
      file,
      [
        '# operators may look at the cloud',
        '"admin_or_operator": "rule:admin_api or role:operator"',
        '"os_compute_api:os-services:list": "rule:admin_or_operator"',
        "os_compute_api:servers:create: '!'",
        '',
      ].join('\n'),
    );
    const policy = new Policy(file);
    assert.equal(policy.allows('compute', 'os_compute_api:os-services:list', {}, operator), true);
    assert.equal(policy.allows('compute', 'os_compute_api:os-services:list', {}, member), false);
    assert.equal(policy.allows('compute', 'os_compute_api:servers:create', own, admin), false);
    // An alias other rules use is no unknown rule.
    assert.deepEqual(policy.unknownRules, []);
  });
});

test('a rule no API checks is kept but reported; a malformed file is refused with the rule named', () => {
  withDir((dir) => {
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, 'os_compute_api:servers:frobnicate: "role:admin"\n');
    assert.deepEqual(new Policy(file).unknownRules, ['os_compute_api:servers:frobnicate']);
    const refused: [string, RegExp][] = [
      ['os_compute_api:servers:create: "role:admin or"\n', /rule "os_compute_api:servers:create": rule ends/],
      ['- role:admin\n', /must map rule names to rule strings/],
      ['admin_api: [1, 2]\n', /rule "admin_api" must be a string/],
      ['admin_api: "role:x\n', /not valid YAML/],
      ['a: "rule:b"\nb: "rule:a"\n', /in a loop: a -> b -> a/],
    ];
    for (const [text, message] of refused) {
      writeFileSync(file, text);
      assert.throws(
        () => new Policy(file),
        (err: unknown) => err instanceof PolicyFileError && message.test(String(err)),
        text,
      );
    }
  });
});

test('a changed file is read again; a broken change keeps the rules in force', () => {
  withDir((dir) => {
    const file = join(dir, 'policy.yaml');
    const rewrite = (text: string, secondsAhead: number) => {
      writeFileSync(file, text);
      // The file is looked at once a second at most: move its clock, and the policy's last look, instead of waiting.
      const at = new Date(Date.now() + secondsAhead * 1000);
      utimesSync(file, at, at);
      (policy as unknown as { checkedAt: number }).checkedAt = 0;
    };
    writeFileSync(file, 'os_compute_api:os-services:list: "role:operator"\n');
    const policy = new Policy(file);
    assert.equal(policy.allows('compute', 'os_compute_api:os-services:list', {}, operator), true);
    rewrite('os_compute_api:os-services:list: "!"\n', 5);
    assert.equal(policy.allows('compute', 'os_compute_api:os-services:list', {}, operator), false);
    rewrite('os_compute_api:os-services:list: "role:operator or"\n', 10);
    assert.equal(policy.allows('compute', 'os_compute_api:os-services:list', {}, operator), false);
    rmSync(file);
    (policy as unknown as { checkedAt: number }).checkedAt = 0;
    // A file removed means the defaults again, as when there was none at start.
    assert.equal(policy.allows('compute', 'os_compute_api:os-services:list', {}, admin), true);
    assert.equal(policy.allows('compute', 'os_compute_api:os-services:list', {}, operator), false);
  });
});

test('a relative policy_file is looked for in the config files directories', () => {
  withDir((dir) => {
    assert.equal(resolvePolicyFile('/etc/stratus/policy.yaml', [dir]), '/etc/stratus/policy.yaml');
    assert.equal(resolvePolicyFile('policy.yaml', []), 'policy.yaml');
    assert.equal(resolvePolicyFile('policy.yaml', ['/nonexistent', dir]), join(dir, 'policy.yaml'));
    writeFileSync(join(dir, 'policy.yaml'), '');
    assert.equal(resolvePolicyFile('policy.yaml', [dir, '/nonexistent']), join(dir, 'policy.yaml'));
  });
});

test('every rule name the sources check is registered for its API', () => {
  const root = join(packageRoot(), 'src');
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  const registered = (api: 'compute' | 'identity') => new Set(DEFAULT_RULES[api].map(([name]) => name));
  const compute = registered('compute');
  const identity = registered('identity');
  let checked = 0;
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const [, name] of text.matchAll(/'((?:os_compute_api|compute|network):[\w:-]+)'/g)) {
      if (name!.startsWith('network:') && !name!.startsWith('network:attach_external_network')) continue;
      assert.ok(compute.has(name!), `${file} checks ${name}, which the compute API does not register`);
      checked++;
    }
    if (file.startsWith('api/identity/')) {
      for (const [, action] of text.matchAll(/authorize(?:OnUser)?\(request, (?:[\w.]+, )?'(\w+)'/g)) {
        assert.ok(identity.has(`identity:${action}`), `${file} checks identity:${action}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 100, `only ${checked} rule names found`);
});
