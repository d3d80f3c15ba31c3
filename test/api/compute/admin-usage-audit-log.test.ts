/** os-instance_usage_audit_log: no audit task runs, so every compute host is one that did not run. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { lastCompletedMonth } from '../../../src/api/compute/admin/usage-audit-log.ts';
import { registerService, updateService } from '../../../src/objects/services.ts';
import { addComputeHost, client, fault, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;

before(async () => {
  h = await startComputeApi();
  await addComputeHost(h, 'host2');
  const host1 = await addComputeHost(h, 'host1');
  // A disabled host may still hold servers: it is counted (Nova does the same).
  await updateService(h.database.db, host1.service.id, { disabled: 1, disabled_reason: 'maintenance' });
  await registerService(h.database.db, 'controller', 'stratus-conductor', 'conductor');
});
after(async () => {
  await h.close();
});

describe('the last completed audit period', () => {
  it('is the month before the current one, or before the one a first-of-month midnight starts', () => {
    const month = (at: string) => {
      const { begin, end } = lastCompletedMonth(new Date(at));
      return [begin.toISOString(), end.toISOString()];
    };
    assert.deepEqual(month('2026-12-06T18:00:00Z'), ['2026-11-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z']);
    assert.deepEqual(month('2026-01-15T00:00:00Z'), ['2025-12-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z']);
    assert.deepEqual(month('2026-03-01T00:00:00Z'), ['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z']);
  });
});

describe('os-instance_usage_audit_log', () => {
  it('lists every compute host as not run, with no instances or errors', async () => {
    const res = await client(h.app, 'admin').get('/v2.1/os-instance_usage_audit_log');
    assert.equal(res.statusCode, 200);
    const { begin, end } = lastCompletedMonth(new Date());
    assert.deepEqual(res.json().instance_usage_audit_logs, {
      period_beginning: begin.toISOString().replace('T', ' ').slice(0, 19),
      period_ending: end.toISOString().replace('T', ' ').slice(0, 19),
      num_hosts: 2,
      num_hosts_done: 0,
      num_hosts_running: 0,
      num_hosts_not_run: 2,
      hosts_not_run: ['host1', 'host2'],
      total_instances: 0,
      total_errors: 0,
      overall_status: '0 of 2 hosts done. 0 errors.',
      log: {},
    });
  });

  it('shows the period before a given time, and refuses a malformed one', async () => {
    const admin = client(h.app, 'admin');
    const res = await admin.get('/v2.1/os-instance_usage_audit_log/2026-07-15%2012:00:00');
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().instance_usage_audit_log.period_beginning, '2026-06-01 00:00:00');
    assert.equal(res.json().instance_usage_audit_log.period_ending, '2026-07-01 00:00:00');
    const fraction = await admin.get('/v2.1/os-instance_usage_audit_log/2026-07-01%2000:00:00.5');
    assert.equal(fraction.json().instance_usage_audit_log.period_ending, '2026-07-01 00:00:00');
    for (const bad of ['2026-07-15', 'yesterday', '2026-13-01%2000:00:00', '2026-07-01T00:00:00']) {
      const refused = await admin.get(`/v2.1/os-instance_usage_audit_log/${bad}`);
      assert.equal(refused.statusCode, 400, bad);
      assert.equal(fault(refused).message, `Invalid timestamp for date ${decodeURIComponent(bad)}`);
    }
  });

  it('is for admins only', async () => {
    const list = await client(h.app, 'alice').get('/v2.1/os-instance_usage_audit_log');
    assert.equal(list.statusCode, 403);
    assert.equal(
      fault(list).message,
      "Policy doesn't allow os_compute_api:os-instance-usage-audit-log:list to be performed.",
    );
    const show = await client(h.app, 'bob').get('/v2.1/os-instance_usage_audit_log/2026-07-15%2012:00:00');
    assert.equal(show.statusCode, 403);
  });
});
