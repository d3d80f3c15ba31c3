/**
 * A requested destination (2.74): only the named host or node is a candidate, whatever the weighers
 * prefer, and it still goes through the filters (a host that is disabled or too small is NoValidHost,
 * not a forced placement). Alternates come from the destination only.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { loadConfig } from '../../src/common/config/load-config.ts';
import { adminContext } from '../../src/common/context.ts';
import { NoValidHost } from '../../src/common/errors.ts';
import { updateService } from '../../src/objects/services.ts';
import { SchedulerManager } from '../../src/scheduler/manager.ts';
import type { RequestSpec } from '../../src/wire/messages/request-spec.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { testSpec } from '../helpers/request-spec.ts';
import { addComputeHost } from '../helpers/scheduler-fixtures.ts';

const opened: TestDatabase[] = [];
let serial = 0;
const uuid = () => `00000000-0000-4000-8000-${String(++serial).padStart(12, '0')}`;

async function cloudOf(hosts: Record<string, number>) {
  const database = await openTestDatabase('sqlite');
  opened.push(database);
  const config = loadConfig([]);
  for (const [host, memoryMb] of Object.entries(hosts)) await addComputeHost(database.db, config, host, { memoryMb });
  return {
    database,
    // A scheduler per request, so that each reads the fleet as the test just left it.
    select: (destination: RequestSpec['requested_destination'], flavor: Partial<RequestSpec['flavor']> = {}) =>
      new SchedulerManager(database, config).selectDestinations(
        adminContext(),
        { ...testSpec(flavor), requested_destination: destination },
        [uuid()],
      ),
  };
}

describe('requested destination', () => {
  afterEach(async () => {
    for (const d of opened.splice(0)) await d.close();
  });

  it('places on the named host even when another would weigh better, with no other alternates', async () => {
    const c = await cloudOf({ big: 65536, small: 4096 });
    const [choice] = await c.select({ host: 'small', node: null });
    assert.deepEqual(
      choice!.map((s) => s.service_host),
      ['small'],
    );
    const [byNode] = await c.select({ host: null, node: 'small' });
    assert.equal(byNode![0]!.nodename, 'small');
    const [both] = await c.select({ host: 'small', node: 'small' });
    assert.equal(both![0]!.service_host, 'small');
  });

  it('still filters the destination: a disabled or too small host is NoValidHost', async () => {
    const c = await cloudOf({ big: 65536, small: 1024 });
    await assert.rejects(c.select({ host: 'small', node: null }, { memory_mb: 8192 }), NoValidHost);
    const service = await c.database.db
      .selectFrom('services')
      .select('id')
      .where('host', '=', 'big')
      .executeTakeFirstOrThrow();
    await updateService(c.database.db, service.id, { disabled: 1, disabled_reason: 'maintenance' });
    await assert.rejects(c.select({ host: 'big', node: null }), NoValidHost);
    await assert.rejects(c.select({ host: 'big', node: 'small' }), NoValidHost, 'a node of another host');
  });
});
