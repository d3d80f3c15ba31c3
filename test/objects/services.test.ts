/** The services table: registration, heartbeats, and up/down as Nova's database servicegroup driver decides it. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NotFound } from '../../src/common/errors.ts';
import {
  getService,
  isServiceUp,
  listServices,
  lowestServiceVersion,
  recordHeartbeat,
  registerService,
  updateService,
  type ServiceRecord,
} from '../../src/objects/services.ts';
import { SERVICE_VERSION } from '../../src/wire/service-versions.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/database.ts';

describe('services', () => {
  let database: TestDatabase;
  before(async () => {
    database = await openTestDatabase('sqlite');
  });
  after(() => database?.close());

  it('registerService creates the row once and finds it again on the next start', async () => {
    const first = await registerService(database.db, 'node-1', 'stratus-compute', 'compute');
    assert.equal(first.host, 'node-1');
    assert.equal(first.binary, 'stratus-compute');
    assert.equal(first.report_count, 0);
    assert.equal(first.disabled, 0);
    assert.equal(first.forced_down, 0);
    assert.ok(first.last_seen_up);
    await updateService(database.db, first.id, { disabled: 1, disabled_reason: 'maintenance' });
    await new Promise((r) => setTimeout(r, 5));
    const again = await registerService(database.db, 'node-1', 'stratus-compute', 'compute-renamed');
    assert.equal(again.id, first.id);
    assert.equal(again.uuid, first.uuid);
    assert.equal(again.topic, 'compute-renamed');
    assert.equal(again.disabled, 1, 'an operator’s disable survives a restart');
    assert.equal(again.disabled_reason, 'maintenance');
    assert.ok(again.last_seen_up! > first.last_seen_up!);
    assert.equal((await listServices(database.db, { host: 'node-1' })).length, 1);
  });

  it('two processes registering the same host and binary at once end with one row', async () => {
    const [a, b] = await Promise.all([
      registerService(database.db, 'node-2', 'stratus-conductor', 'conductor'),
      registerService(database.db, 'node-2', 'stratus-conductor', 'conductor'),
    ]);
    assert.equal(a.id, b.id);
    assert.equal((await listServices(database.db, { host: 'node-2', binary: 'stratus-conductor' })).length, 1);
  });

  it('recordHeartbeat increments report_count and moves last_seen_up', async () => {
    const registered = await registerService(database.db, 'node-3', 'stratus-compute', 'compute');
    await new Promise((r) => setTimeout(r, 5));
    await recordHeartbeat(database.db, 'node-3', 'stratus-compute');
    await recordHeartbeat(database.db, 'node-3', 'stratus-compute');
    const after2 = await getService(database.db, 'node-3', 'stratus-compute');
    assert.equal(after2.report_count, 2);
    assert.ok(after2.last_seen_up! > registered.last_seen_up!);
    await recordHeartbeat(database.db, 'node-3', 'stratus-compute');
    assert.equal((await getService(database.db, 'node-3', 'stratus-compute')).report_count, 3);
  });

  it('recordHeartbeat of a service that is not registered is NotFound', async () => {
    await assert.rejects(recordHeartbeat(database.db, 'ghost', 'stratus-compute'), (err: unknown) => {
      assert.ok(err instanceof NotFound);
      assert.match(err.message, /stratus-compute on host ghost is not registered/);
      return true;
    });
  });

  describe('isServiceUp', () => {
    const downTime = 60;
    const base: ServiceRecord = {
      id: 1,
      uuid: 'u',
      host: 'h',
      binary: 'stratus-compute',
      topic: 'compute',
      report_count: 1,
      disabled: 0,
      disabled_reason: null,
      forced_down: 0,
      version: 1,
      last_seen_up: '2026-01-01T00:00:00.000Z',
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: null,
    };
    const seen = Date.parse(base.last_seen_up!);

    it('is up while the last heartbeat is at most service_down_time old', () => {
      assert.equal(isServiceUp(base, downTime, seen), true);
      assert.equal(isServiceUp(base, downTime, seen + 59_999), true);
      assert.equal(isServiceUp(base, downTime, seen + 60_000), true);
    });

    it('is down once the heartbeat is older than service_down_time', () => {
      assert.equal(isServiceUp(base, downTime, seen + 60_001), false);
      assert.equal(isServiceUp(base, 120, seen + 60_001), true);
    });

    it('is down when forced down, however fresh the heartbeat', () => {
      assert.equal(isServiceUp({ ...base, forced_down: 1 }, downTime, seen), false);
    });

    it('is down when it never reported', () => {
      assert.equal(isServiceUp({ ...base, last_seen_up: null }, downTime, seen), false);
    });

    it('follows the rows: a fresh registration is up, a stale or forced-down one is down', async () => {
      const fresh = await registerService(database.db, 'node-4', 'stratus-compute', 'compute');
      assert.equal(isServiceUp(fresh, downTime), true);
      const stale = new Date(Date.now() - (downTime + 5) * 1000).toISOString();
      await database.db.updateTable('services').set({ last_seen_up: stale }).where('id', '=', fresh.id).execute();
      assert.equal(isServiceUp(await getService(database.db, 'node-4', 'stratus-compute'), downTime), false);
      await recordHeartbeat(database.db, 'node-4', 'stratus-compute');
      assert.equal(isServiceUp(await getService(database.db, 'node-4', 'stratus-compute'), downTime), true);
      const forced = await updateService(database.db, fresh.id, { forced_down: 1 });
      assert.equal(isServiceUp(forced, downTime), false);
    });
  });

  it('records the service version of each service, and the lowest of a binary for auto upgrade levels', async () => {
    assert.equal(await lowestServiceVersion(database.db, 'stratus-scheduler'), null, 'none registered');
    const own = await registerService(database.db, 'v-a', 'stratus-scheduler', 'scheduler');
    assert.equal(own.version, SERVICE_VERSION, "this release's by default");
    // A compute host of the first release reports no version: the conductor records 1.
    await registerService(database.db, 'v-b', 'stratus-scheduler', 'scheduler', 1);
    assert.equal(await lowestServiceVersion(database.db, 'stratus-scheduler'), 1);
    // Upgraded: its next heartbeat says so.
    await recordHeartbeat(database.db, 'v-b', 'stratus-scheduler', SERVICE_VERSION);
    assert.equal(await lowestServiceVersion(database.db, 'stratus-scheduler'), SERVICE_VERSION);
  });
});
