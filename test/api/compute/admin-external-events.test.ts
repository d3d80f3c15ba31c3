/**
 * os-server-external-events: each event's code and status, 200 or 207, the names each microversion
 * accepts, and the instance actions Nova records for volume-extended and power-update.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { listActions } from '../../../src/objects/instance-actions.ts';
import { client, countRows, fault, seedServer, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;
let active: string;
let stopped: string;
let unplaced: string;

const PATH = '/v2.1/os-server-external-events';

before(async () => {
  h = await startComputeApi();
  active = (await seedServer(h, { name: 'active' })).uuid;
  stopped = (await seedServer(h, { name: 'stopped', state: { vm_state: 'stopped', power_state: 4 } })).uuid;
  unplaced = (await seedServer(h, { name: 'unplaced', host: null })).uuid;
});
after(async () => {
  await h.close();
});

describe('os-server-external-events', () => {
  it('answers 200 when every event reached a server with a host, without recording network events', async () => {
    const before = await countRows(h, 'instance_actions');
    const res = await client(h.app, 'admin').post(PATH, {
      events: [
        { name: 'network-vif-plugged', server_uuid: active, tag: 'port-1', status: 'failed' },
        { name: 'network-changed', server_uuid: stopped },
      ],
    });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().events, [
      { name: 'network-vif-plugged', server_uuid: active, tag: 'port-1', status: 'completed', code: 200 },
      { name: 'network-changed', server_uuid: stopped, status: 'completed', code: 200 },
    ]);
    assert.equal(await countRows(h, 'instance_actions'), before, 'Nova records no action for network events');
  });

  it('answers 207 with 404, 400 and 422 for events it could not deliver', async () => {
    const missing = randomUUID();
    const res = await client(h.app, 'admin', '2.51').post(PATH, {
      events: [
        { name: 'network-changed', server_uuid: missing },
        { name: 'volume-extended', server_uuid: active },
        { name: 'network-changed', server_uuid: unplaced },
        { name: 'network-vif-deleted', server_uuid: active, tag: 'port-2' },
      ],
    });
    assert.equal(res.statusCode, 207);
    assert.deepEqual(
      res.json().events.map((e: { code: number; status: string }) => [e.code, e.status]),
      [
        [404, 'failed'],
        [400, 'failed'],
        [422, 'failed'],
        [200, 'completed'],
      ],
    );
    // Nothing delivered at all is still a 207 (Nova's 404 then was a bug it fixed).
    const none = await client(h.app, 'admin').post(PATH, {
      events: [{ name: 'network-changed', server_uuid: missing }],
    });
    assert.equal(none.statusCode, 207);
  });

  it('records volume-extended and power-update as Nova compute records them', async () => {
    const res = await client(h.app, 'admin', '2.76').post(PATH, {
      events: [
        { name: 'volume-extended', server_uuid: active, tag: randomUUID() },
        { name: 'power-update', server_uuid: active, tag: 'POWER_ON' },
        { name: 'power-update', server_uuid: stopped, tag: 'POWER_ON' },
      ],
    });
    assert.equal(res.statusCode, 200);
    const activeActions = await listActions(h.database.db, active);
    const byName = new Map(activeActions.map((a) => [a.action, a]));
    const extend = byName.get('extend_volume')!;
    assert.deepEqual(
      extend.events.map((e) => [e.event, e.result, e.host]),
      [['compute_extend_volume', 'Success', 'host1']],
    );
    // The server is already on: a no-op that succeeds.
    assert.deepEqual(
      byName.get('start')!.events.map((e) => [e.event, e.result]),
      [['compute_power_update', 'Success']],
    );
    // Powering a stopped server on would need a driver that follows outside power changes: Error.
    const [start] = await listActions(h.database.db, stopped);
    assert.equal(start!.action, 'start');
    assert.equal(start!.message, 'Error');
    assert.deepEqual(
      start!.events.map((e) => [e.event, e.result]),
      [['compute_power_update', 'Error']],
    );
    const shown = await client(h.app, 'admin', '2.51').get(`/v2.1/servers/${stopped}/os-instance-actions`);
    assert.equal(shown.json().instanceActions[0].action, 'start');
  });

  it('accepts each event name from its microversion on', async () => {
    const admin = (version: string) => client(h.app, 'admin', version);
    const cases: [string, string, string][] = [
      ['volume-extended', '2.50', '2.51'],
      ['power-update', '2.75', '2.76'],
      ['accelerator-request-bound', '2.81', '2.82'],
      ['volume-reimaged', '2.92', '2.93'],
    ];
    for (const [name, before, from] of cases) {
      const body = { events: [{ name, server_uuid: active, tag: 'x' }] };
      const refused = await admin(before).post(PATH, body);
      assert.equal(refused.statusCode, 400, `${name} at ${before}`);
      const accepted = await admin(from).post(PATH, body);
      assert.equal(accepted.statusCode, 200, `${name} at ${from}`);
    }
  });

  it('refuses malformed bodies with 400 and members with 403', async () => {
    const admin = client(h.app, 'admin');
    for (const body of [
      {},
      { events: [] },
      { events: [{ name: 'network-changed' }] },
      { events: [{ name: 'network-changed', server_uuid: 'not-a-uuid' }] },
      { events: [{ name: 'network-changed', server_uuid: active, status: 'done' }] },
      { events: [{ name: 'network-changed', server_uuid: active, extra: 1 }] },
      { events: [{ name: 'network-changed', server_uuid: active, tag: 'x'.repeat(256) }] },
    ]) {
      assert.equal((await admin.post(PATH, body)).statusCode, 400, JSON.stringify(body));
    }
    const member = await client(h.app, 'alice').post(PATH, {
      events: [{ name: 'network-changed', server_uuid: active }],
    });
    assert.equal(member.statusCode, 403);
    assert.equal(
      fault(member).message,
      "Policy doesn't allow os_compute_api:os-server-external-events:create to be performed.",
    );
  });
});
