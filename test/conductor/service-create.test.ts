/**
 * service.create as Nova's Service object sends it when a service's row is made: a compute host's first
 * heartbeat through the conductor, and a conductor or scheduler registering itself (db-heartbeat.ts),
 * each published as the service; a service that registers again from its existing row sends nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/common/config/load-config.ts';
import { Notifier } from '../../src/common/notifications/notifier.ts';
import { ConductorManager } from '../../src/conductor/manager.ts';
import { deleteService, getService } from '../../src/objects/services.ts';
import { startDbHeartbeat } from '../../src/runtime/db-heartbeat.ts';
import type { ComputeRpcApi } from '../../src/wire/contracts/compute.ts';
import type { SchedulerRpcApi } from '../../src/wire/contracts/scheduler.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { RecordingTransport } from '../helpers/recording-transport.ts';

interface Sent {
  publisher_id: string;
  event_type: string;
  payload: { 'nova_object.name': string; 'nova_object.data': Record<string, unknown> };
}

const config = loadConfig([], { DEFAULT: { host: 'ctl-1' } });
let database: TestDatabase;
let transport: RecordingTransport;
let notifier: Notifier;

before(async () => {
  database = await openTestDatabase();
  transport = new RecordingTransport();
  notifier = new Notifier(transport, {
    publisherId: 'nova-conductor:ctl-1',
    drivers: ['messaging'],
    format: 'versioned',
    topics: ['versioned_notifications'],
    defaultLevel: 'INFO',
    bufferSize: 100,
  });
});
after(() => database.close());

async function sent(): Promise<Sent[]> {
  await notifier.flush();
  const list = transport.notifications.map((n) => JSON.parse(n.body) as Sent);
  transport.notifications.length = 0;
  return list;
}

describe('service.create', () => {
  it("a compute host's first heartbeat creates its service and says so, as the compute service", async () => {
    const conductor = new ConductorManager(
      database,
      config,
      {} as SchedulerRpcApi,
      {} as ComputeRpcApi,
      undefined,
      notifier,
    );
    await conductor.serviceHeartbeat('cmp-new', 'stratus-compute', 'compute', 3);
    const [created, ...rest] = await sent();
    assert.deepEqual(rest, []);
    assert.equal(created!.event_type, 'service.create');
    assert.equal(created!.publisher_id, 'nova-compute:cmp-new');
    assert.equal(created!.payload['nova_object.name'], 'ServiceStatusPayload');
    const service = await getService(database.db, 'cmp-new', 'stratus-compute');
    assert.equal(created!.payload['nova_object.data']['uuid'], service.uuid);
    assert.equal(created!.payload['nova_object.data']['version'], 3);

    await conductor.serviceHeartbeat('cmp-new', 'stratus-compute', 'compute', 3);
    assert.deepEqual(await sent(), [], 'a heartbeat of a known service creates nothing');
  });

  it('a conductor registering itself: service.create on its first start only', async () => {
    const first = await startDbHeartbeat(database, config, 'stratus-conductor', 'conductor', notifier);
    await first.stop();
    const [created, ...rest] = await sent();
    assert.deepEqual(rest, []);
    assert.equal(created!.event_type, 'service.create');
    assert.equal(created!.publisher_id, 'nova-conductor:ctl-1');
    assert.equal(created!.payload['nova_object.data']['binary'], 'nova-conductor');

    const again = await startDbHeartbeat(database, config, 'stratus-conductor', 'conductor', notifier);
    await again.stop();
    assert.deepEqual(await sent(), []);

    // Deleted by an operator, then started again: a new row, a new service.create.
    await deleteService(database.db, (await getService(database.db, 'ctl-1', 'stratus-conductor')).id);
    const revived = await startDbHeartbeat(database, config, 'stratus-conductor', 'conductor', notifier);
    await revived.stop();
    assert.deepEqual(
      (await sent()).map((s) => s.event_type),
      ['service.create'],
    );
  });
});
