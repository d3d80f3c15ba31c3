/**
 * A storm of resizes and cold migrations among three fake-driver hosts that fail some of each step
 * (the destination's prep and finish, the source's hand-over), with the conductor restarted in the
 * middle, then a reckoning: every server in a final state with no task, and each host's allocations
 * exactly the flavors of the servers it holds (nothing leaked, nothing counted twice), per consumer and
 * in the usage totals the scheduler reads.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startConductor } from '../../src/conductor/service.ts';
import type { Flavor } from '../../src/objects/flavors.ts';
import { getInstance, type Instance } from '../../src/objects/instances.ts';
import { MigrationStatus } from '../../src/objects/migrations.ts';
import { ComputeRpcApi } from '../../src/wire/contracts/compute.ts';
import { VmState } from '../../src/wire/messages/instance-states.ts';
import { smallFlavor, startTestCloud, type TestCloud } from '../helpers/in-process-cloud.ts';
import { startMoveAsApi, verifyAsApi } from '../helpers/move-requests.ts';

const SERVERS = 12;
const ROUNDS = 6;
const FAILURES = 'prep:0.2,migrate:0.2,finish:0.2';

const final = (i: Instance) => i.task_state === null && i.vm_state !== VmState.BUILDING;

describe('a storm of moves with failures at each step', () => {
  let cloud: TestCloud;
  let compute: ComputeRpcApi;
  let flavors: Flavor[];
  before(async () => {
    cloud = await startTestCloud({ computeHosts: [], overrides: { scheduler: { host_state_refresh_interval: '0' } } });
    for (const host of ['h1', 'h2', 'h3']) {
      await cloud.startComputeHost(host, { fake_driver: { vcpus: '64', move_failure_rates: FAILURES } });
    }
    compute = new ComputeRpcApi(cloud.bus.rpc);
    flavors = [
      await smallFlavor(cloud.database, 'storm.1', { vcpus: 1, root_gb: 1 }),
      await smallFlavor(cloud.database, 'storm.2', { vcpus: 2, root_gb: 2 }),
      await smallFlavor(cloud.database, 'storm.3', { vcpus: 3, root_gb: 3 }),
    ];
  });
  after(() => cloud.stop());

  /** Sizes only grow (a disk is never shrunk); a server at the biggest one, or on odd rounds, migrates. */
  function startMove(instance: Instance, round: number): Promise<void> {
    const bigger = flavors.find((f) => f.vcpus > instance.flavor.vcpus);
    return startMoveAsApi(cloud, instance.uuid, round % 2 === 0 ? bigger : undefined);
  }

  const verify = (instance: Instance, confirm: boolean) => verifyAsApi(cloud, compute, instance, confirm);

  async function restartConductor(): Promise<void> {
    const old = cloud.services[0]!;
    await old.stop();
    cloud.services[0] = await startConductor(cloud.config, cloud.database, cloud.bus);
  }

  it('leaves every server settled and every host holding exactly what its servers use', async () => {
    const uuids = await cloud.boot(flavors[0]!, SERVERS, 'storm');
    await Promise.all(uuids.map((u) => cloud.waitFor(u, final)));
    for (let round = 0; round < ROUNDS; round++) {
      const servers = await Promise.all(uuids.map((u) => getInstance(cloud.database.db, u)));
      await Promise.all(
        servers.map((s, i) => {
          if (s.vm_state === VmState.RESIZED) return verify(s, (i + round) % 3 !== 0);
          if (s.vm_state === VmState.ACTIVE && s.task_state === null) return startMove(s, round + i);
          return undefined;
        }),
      );
      // Mid-storm: the conductor goes away with moves under way and comes back.
      if (round === ROUNDS / 2) await restartConductor();
      await Promise.all(uuids.map((u) => cloud.waitFor(u, final, 30_000)));
    }
    // The last resizes confirmed, so that only the servers' own claims remain.
    for (const s of await Promise.all(uuids.map((u) => getInstance(cloud.database.db, u)))) {
      if (s.vm_state === VmState.RESIZED) await verify(s, true);
    }
    const servers = await Promise.all(uuids.map((u) => cloud.waitFor(u, final, 30_000)));
    for (const s of servers) assert.equal(s.vm_state, VmState.ACTIVE, `server ${s.uuid} ends ACTIVE`);
    const moves = await cloud.database.db.selectFrom('migrations').select(['status']).execute();
    assert.ok(moves.length >= SERVERS, 'the storm moved the servers');
    assert.ok(
      moves.some((m) => m.status === MigrationStatus.ERROR),
      'some moves failed',
    );
    assert.ok(
      moves.some((m) => m.status === MigrationStatus.CONFIRMED),
      'some moves stood',
    );

    const db = cloud.database.db;
    const allocations = await db
      .selectFrom('allocations as a')
      .innerJoin('resource_providers as p', 'p.id', 'a.resource_provider_id')
      .innerJoin('compute_nodes as n', 'n.uuid', 'p.uuid')
      .select(['a.consumer_id', 'n.host', 'a.used'])
      .where('a.resource_class', '=', 'VCPU')
      .execute();
    const expected = servers.map((s) => `${s.uuid}@${s.host}=${s.flavor.vcpus}`).sort();
    const held = allocations.map((a) => `${a.consumer_id}@${a.host}=${a.used}`).sort();
    assert.deepEqual(held, expected, 'each server holds its flavor on its host, and nothing else is held');
    const usages = await db
      .selectFrom('resource_usages as u')
      .innerJoin('resource_providers as p', 'p.id', 'u.resource_provider_id')
      .innerJoin('compute_nodes as n', 'n.uuid', 'p.uuid')
      .select(['n.host', 'u.used'])
      .where('u.resource_class', '=', 'VCPU')
      .execute();
    for (const host of ['h1', 'h2', 'h3']) {
      const used = usages.filter((u) => u.host === host).reduce((sum, u) => sum + u.used, 0);
      const want = servers.filter((s) => s.host === host).reduce((sum, s) => sum + s.flavor.vcpus, 0);
      assert.equal(used, want, `usage of ${host}`);
    }
  });
});
