/**
 * Host aggregates on every engine: create/update/delete with unique names, hosts and metadata, Nova's
 * rule that a host is in one availability zone at most (and that servers never change zone under an
 * aggregate change), and the scheduler's reads: every host's aggregates and each host's zone.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Conflict, NotFound } from '../../src/common/errors.ts';
import {
  InvalidAggregateAction,
  addAggregateHost,
  aggregatesByHost,
  availabilityZoneOfHost,
  availabilityZonesOfHosts,
  createAggregate,
  deleteAggregate,
  getAggregate,
  getAggregateByUuid,
  listAggregates,
  removeAggregateHost,
  removeHostFromAllAggregates,
  setAggregateMetadata,
  updateAggregate,
  zoneOfHost,
} from '../../src/objects/aggregates.ts';
import { describeOnEachEngine } from '../helpers/database.ts';
import { insertTestInstance } from '../helpers/instance-rows.ts';

const refused = (cls: abstract new (...args: never[]) => Error, pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
  assert.match(err.message, pattern);
  return true;
};

describeOnEachEngine('aggregates', (database) => {
  it('creates with an optional zone, refuses a duplicate name, lists, renames and deletes', async () => {
    const db = database().db;
    const a = await createAggregate(db, 'rack-a', 'az1');
    assert.match(a.uuid, /^[0-9a-f-]{36}$/);
    assert.deepEqual(
      { name: a.name, zone: a.availability_zone, hosts: a.hosts, metadata: a.metadata, updated: a.updated_at },
      { name: 'rack-a', zone: 'az1', hosts: [], metadata: { availability_zone: 'az1' }, updated: null },
    );
    const b = await createAggregate(db, 'rack-b');
    assert.equal(b.availability_zone, null);
    assert.deepEqual(b.metadata, {});
    await assert.rejects(createAggregate(db, 'rack-a'), refused(Conflict, /^Aggregate rack-a already exists\.$/));
    assert.deepEqual(
      (await listAggregates(db)).map((x) => x.name),
      ['rack-a', 'rack-b'],
    );
    assert.equal((await getAggregateByUuid(db, a.uuid)).id, a.id);

    await assert.rejects(updateAggregate(db, b.id, { name: 'rack-a' }), refused(Conflict, /already exists/));
    const renamed = await updateAggregate(db, b.id, { name: 'rack-c', availability_zone: 'az2' });
    assert.equal(renamed.name, 'rack-c');
    assert.equal(renamed.availability_zone, 'az2');
    assert.ok(renamed.updated_at);
    await assert.rejects(
      updateAggregate(db, b.id, { availability_zone: null }),
      refused(InvalidAggregateAction, /does not support empty named availability zone/),
    );

    await deleteAggregate(db, b.id);
    await assert.rejects(getAggregate(db, b.id), refused(NotFound, new RegExp(`^Aggregate ${b.id} could not`)));
    await assert.rejects(deleteAggregate(db, b.id), NotFound);
    // The name is free again once deleted.
    await deleteAggregate(db, (await createAggregate(db, 'rack-c')).id);
    await deleteAggregate(db, a.id);
  });

  it('adds and removes hosts; a non-empty aggregate cannot be deleted', async () => {
    const db = database().db;
    const agg = await createAggregate(db, 'hosts-1');
    assert.deepEqual((await addAggregateHost(db, agg.id, 'h1')).hosts, ['h1']);
    assert.deepEqual((await addAggregateHost(db, agg.id, 'h2')).hosts, ['h1', 'h2']);
    await assert.rejects(
      addAggregateHost(db, agg.id, 'h1'),
      refused(Conflict, new RegExp(`^Aggregate ${agg.id} already has host h1\\.$`)),
    );
    await assert.rejects(deleteAggregate(db, agg.id), refused(InvalidAggregateAction, /Host aggregate is not empty/));
    assert.deepEqual((await removeAggregateHost(db, agg.id, 'h1')).hosts, ['h2']);
    await assert.rejects(
      removeAggregateHost(db, agg.id, 'h1'),
      refused(NotFound, new RegExp(`^Aggregate ${agg.id} has no host h1\\.$`)),
    );
    await removeHostFromAllAggregates(db, 'h2');
    await deleteAggregate(db, agg.id);
  });

  it('sets and removes metadata keys; null removes, the zone is metadata too', async () => {
    const db = database().db;
    const agg = await createAggregate(db, 'meta-1', 'az1');
    const set = await setAggregateMetadata(db, agg.id, { ssd: 'true', gpu: 'no' });
    assert.deepEqual(set.metadata, { availability_zone: 'az1', ssd: 'true', gpu: 'no' });
    const changed = await setAggregateMetadata(db, agg.id, { ssd: 'false', gpu: null, nothere: null });
    assert.deepEqual(changed.metadata, { availability_zone: 'az1', ssd: 'false' });
    const moved = await setAggregateMetadata(db, agg.id, { availability_zone: 'az9' });
    assert.equal(moved.availability_zone, 'az9');
    await assert.rejects(
      setAggregateMetadata(db, agg.id, { availability_zone: null }),
      refused(InvalidAggregateAction, /^Cannot update metadata of aggregate \d+\. Reason: .*empty named/),
    );
    await deleteAggregate(db, agg.id);
  });

  it('keeps every host in one zone', async () => {
    const db = database().db;
    const az1 = await createAggregate(db, 'zone-1', 'az1');
    const az2 = await createAggregate(db, 'zone-2', 'az2');
    const plain = await createAggregate(db, 'plain');
    const sameZone = await createAggregate(db, 'zone-1b', 'az1');
    await addAggregateHost(db, az1.id, 'z1');
    await addAggregateHost(db, plain.id, 'z1');
    await addAggregateHost(db, sameZone.id, 'z1');
    await assert.rejects(
      addAggregateHost(db, az2.id, 'z1'),
      refused(
        InvalidAggregateAction,
        /^Cannot add host to aggregate \d+\. Reason: One or more hosts already in availability zone\(s\) \['az1'\]\.$/,
      ),
    );
    // Giving the plain aggregate (holding z1) another zone, by metadata or update, is refused too.
    await assert.rejects(
      setAggregateMetadata(db, plain.id, { availability_zone: 'az2' }),
      refused(InvalidAggregateAction, /already in availability zone\(s\) \['az1'\]/),
    );
    await assert.rejects(updateAggregate(db, plain.id, { availability_zone: 'az2' }), InvalidAggregateAction);
    assert.equal((await getAggregate(db, plain.id)).availability_zone, null, 'the refused change wrote nothing');
    await setAggregateMetadata(db, plain.id, { availability_zone: 'az1' });
    assert.equal(await availabilityZoneOfHost(db, 'z1', 'nova'), 'az1');

    for (const agg of [az1, plain, sameZone]) await removeAggregateHost(db, agg.id, 'z1');
    for (const agg of [az1, az2, plain, sameZone]) await deleteAggregate(db, agg.id);
  });

  it('refuses changes that would move servers to another zone', async () => {
    const db = database().db;
    await insertTestInstance(db, { host: 'busy' });
    await insertTestInstance(db, { host: 'idle', deleted: true });
    const agg = await createAggregate(db, 'moves', 'az1');
    await assert.rejects(
      addAggregateHost(db, agg.id, 'busy'),
      refused(InvalidAggregateAction, /would change from 'None' to 'az1' but the host already has 1 instance\(s\)/),
    );
    await addAggregateHost(db, agg.id, 'idle'); // only a deleted server there
    const noZone = await createAggregate(db, 'no-zone');
    await addAggregateHost(db, noZone.id, 'busy'); // no zone: nothing moves
    await assert.rejects(
      setAggregateMetadata(db, noZone.id, { availability_zone: 'az5' }),
      refused(InvalidAggregateAction, /One or more hosts contain instances in this zone/),
    );
    await setAggregateMetadata(db, noZone.id, { other: 'x' });
    await removeAggregateHost(db, noZone.id, 'busy');
    await removeAggregateHost(db, agg.id, 'idle');
    await deleteAggregate(db, agg.id);
    await deleteAggregate(db, noZone.id);
  });

  it("gives the scheduler every host's aggregates and each host's zone", async () => {
    const db = database().db;
    const az = await createAggregate(db, 'sched-az', 'az-s');
    const ssd = await createAggregate(db, 'sched-ssd');
    await setAggregateMetadata(db, ssd.id, { ssd: 'true', filter_tenant_id: 'p1,p2' });
    await addAggregateHost(db, az.id, 's1');
    await addAggregateHost(db, ssd.id, 's1');
    await addAggregateHost(db, ssd.id, 's2');

    const all = await aggregatesByHost(db);
    assert.deepEqual(
      all.get('s1')?.map((a) => [a.name, a.uuid, a.metadata]),
      [
        ['sched-az', az.uuid, { availability_zone: 'az-s' }],
        ['sched-ssd', ssd.uuid, { ssd: 'true', filter_tenant_id: 'p1,p2' }],
      ],
    );
    assert.deepEqual(
      all.get('s2')?.map((a) => a.name),
      ['sched-ssd'],
    );
    assert.equal(all.has('s3'), false);
    const some = await aggregatesByHost(db, ['s2', 's3']);
    assert.deepEqual([...some.keys()], ['s2']);
    assert.equal((await aggregatesByHost(db, [])).size, 0);

    assert.equal(zoneOfHost(all.get('s1'), 'nova'), 'az-s');
    assert.equal(zoneOfHost(all.get('s2'), 'nova'), 'nova');
    assert.equal(zoneOfHost(undefined, 'nova'), 'nova');
    assert.equal(await availabilityZoneOfHost(db, 's2', 'dflt'), 'dflt');
    assert.deepEqual(
      [...(await availabilityZonesOfHosts(db, ['s1', 's2', 's3'], 'nova'))],
      [
        ['s1', 'az-s'],
        ['s2', 'nova'],
        ['s3', 'nova'],
      ],
    );
  });
});
