/**
 * The conductor's ports for a burst of builds, made together (build-port-batches.ts), on every engine:
 * each build gets its own ports and addresses, recorded on its NICs, and the NetworkInfo that reading
 * them back would give; a build that cannot have its port (the port quota, a full subnet) fails with
 * its own error while the others go on; builds that are not first builds of new ports are allocated
 * alone; and a burst takes far fewer port transactions than it has builds.
 */
import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import {
  InsertQueryNode,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';
import { BuildPortBatches } from '../../src/conductor/build-port-batches.ts';
import { buildNetworkInfo } from '../../src/network/network-info.ts';
import { setQuotaLimits } from '../../src/network/quotas.ts';
import { instanceNics, recordNicRequests, type NicRequest } from '../../src/objects/instance-networks.ts';
import { describeOnEachEngine } from '../helpers/database.ts';
import { createTestNetwork, createTestPort } from '../helpers/networks.ts';

const nicOn = (networkId: string, fixedIp: string | null = null): NicRequest => ({
  network_id: networkId,
  fixed_ip: fixedIp,
  port_id: null,
  tag: null,
  security_groups: ['default'],
});

describeOnEachEngine('build port batches', (database) => {
  /** `count` instances of the project asking for `nics`, allocated at once on host-1. */
  async function burst(project: string, count: number, nics: (i: number) => NicRequest[]) {
    const db = database().db;
    const portInserts = new PortInserts();
    const batches = new BuildPortBatches({ db: db.withPlugin(portInserts) });
    const uuids = Array.from({ length: count }, () => randomUUID());
    for (const [i, uuid] of uuids.entries()) await recordNicRequests(db, uuid, nics(i));
    const outcomes = await Promise.allSettled(
      uuids.map((uuid) => batches.allocate({ uuid, project_id: project, availability_zone: 'az1' }, 'host-1', 'named')),
    );
    return { uuids, outcomes, portInserts: portInserts.count };
  }

  it('gives each build of a burst its own ports, recorded, and their NetworkInfo', async () => {
    const db = database().db;
    const a = await createTestNetwork(db, { projectId: 'pb-1', name: 'a', prefix: '10.71.0' });
    const b = await createTestNetwork(db, { projectId: 'pb-1', name: 'b', prefix: '10.72.0' });
    const userPort = await createTestPort(db, 'pb-1', a.id);
    const { uuids, outcomes, portInserts } = await burst('pb-1', 24, (i) =>
      i === 0
        ? // A user's port and a fixed address: allocated alone.
          [{ ...nicOn(a.id), port_id: userPort, security_groups: [] }, nicOn(b.id, '10.72.0.200')]
        : i % 3 === 0
          ? []
          : [nicOn(a.id), nicOn(b.id)],
    );
    const addresses: string[] = [];
    for (const [i, outcome] of outcomes.entries()) {
      assert.equal(outcome.status, 'fulfilled', String((outcome as PromiseRejectedResult).reason));
      const { networkInfo, joinedGroups } = (
        outcome as PromiseFulfilledResult<Awaited<ReturnType<BuildPortBatches['allocate']>>>
      ).value;
      const nics = await instanceNics(db, uuids[i]!);
      assert.deepEqual(
        networkInfo.map((vif) => vif.id),
        nics.map((n) => n.port_id),
        'the NetworkInfo follows the NICs, each recorded with its port',
      );
      assert.deepEqual(
        networkInfo,
        await buildNetworkInfo(
          db,
          nics.map((n) => n.port_id!),
          { remoteGroups: 'named' },
        ),
      );
      const ports = await db.selectFrom('ports').selectAll().where('device_id', '=', uuids[i]!).execute();
      assert.equal(ports.length, nics.length, "its ports, made or the user's, are bound to it");
      for (const port of ports) {
        assert.equal(port.binding_host_id, 'host-1');
        assert.equal(port.device_owner, 'compute:az1');
      }
      if (i !== 0 && nics.length) assert.equal(joinedGroups.length, 1, 'the default group');
      addresses.push(...networkInfo.flatMap((vif) => vif.fixed_ips.map((f) => f.ip_address)));
    }
    assert.equal(new Set(addresses).size, addresses.length, 'no address twice');
    assert.ok(addresses.includes('10.72.0.200'));
    // 32 new ports in two networks, and the fixed address's: made one by one, that would be 33 inserts.
    assert.ok(portInserts < 16, `${portInserts} port inserts for 33 ports`);
  });

  it('fails only the builds whose ports cannot be had', async () => {
    const db = database().db;
    const full = await createTestNetwork(db, { projectId: 'pb-2', name: 'small', prefix: '10.73.0', poolSize: 5 });
    const { outcomes } = await burst('pb-2', 8, () => [nicOn(full.id)]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    assert.equal(won.length, 5, 'the pool holds five');
    assert.equal(lost.length, 3);
    for (const o of lost) assert.match(String(o.reason), /No more IP addresses available/);
    const ports = await db.selectFrom('ports').select('id').where('network_id', '=', full.id).execute();
    assert.equal(ports.length, 5, 'a failed build left no port');

    await setQuotaLimits(db, 'pb-3', { port: 3 });
    const capped = await createTestNetwork(db, { projectId: 'pb-3', name: 'capped', prefix: '10.74.0' });
    const quota = await burst('pb-3', 5, () => [nicOn(capped.id)]);
    const refused = quota.outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    assert.equal(refused.length, 2);
    for (const o of refused) assert.match(String(o.reason), /Quota exceeded for resources: \['port'\]/);
  });
});

/** Counts the inserts into `ports` of the queries it sees. */
class PortInserts implements KyselyPlugin {
  count = 0;
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (InsertQueryNode.is(args.node) && args.node.into?.table.identifier.name === 'ports') this.count++;
    return args.node;
  }
  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}
