/**
 * The fake driver's storage pools (reported per node, a guest of a tier the node lacks refused) and the
 * interfaces it records for its guests.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BuildFailed, InstanceInvalidState } from '../../../../src/common/errors.ts';
import { InstancePayloadShape, type InstancePayload } from '../../../../src/wire/messages/instance-payload.ts';
import { FakeDriver } from '../../../../src/compute/virt/fake/fake-driver.ts';
import { fakeDriverOptions } from '../../../helpers/fake-driver-options.ts';
import { testVif } from '../../../helpers/vif.ts';

const driver = () =>
  new FakeDriver(
    fakeDriverOptions({
      nodeCount: 2,
      storagePools: [
        { tier: 'hdd', totalGb: 100 },
        { tier: 'ssd', totalGb: 20 },
      ],
    }),
  );

const guest = (uuid: string, storageTier: string): InstancePayload =>
  InstancePayloadShape.build({
    uuid,
    display_name: uuid,
    hostname: uuid,
    project_id: 'p',
    user_id: 'u',
    image_ref: 'img',
    flavor: {
      flavorid: 'f',
      name: 'f',
      vcpus: 1,
      memory_mb: 64,
      root_gb: 1,
      ephemeral_gb: 0,
      swap: 0,
      extra_specs: {},
    },
    vm_state: 'building',
    task_state: 'spawning',
    power_state: 0,
    host: 'h',
    node: 'h-node0',
    launched_at: null,
    metadata: {},
    storage_tier: storageTier,
  });

describe('FakeDriver storage pools', () => {
  it('reports its pools on every node, local_gb their sum', async () => {
    const d = driver();
    await d.init('h');
    for (const node of d.nodes()) {
      assert.deepEqual(
        node.storagePools.map((p) => [p.tier, p.totalGb]),
        [
          ['hdd', 100],
          ['ssd', 20],
        ],
      );
      assert.equal(node.localGb, 120);
    }
  });

  it('spawns a guest of a tier it has, and refuses one of a tier it lacks, leaving nothing', async () => {
    const d = driver();
    await d.init('h');
    await d.spawn(guest('a', 'ssd'), 'h-node0');
    await d.spawn(guest('b', 'hdd'), 'h-node0');
    await assert.rejects(d.spawn(guest('c', 'pcie_ssd'), 'h-node0'), (err: unknown) => {
      return err instanceof BuildFailed && /no pcie_ssd storage pool/.test(err.message);
    });
    assert.deepEqual(
      d.listGuests().map((g) => g.uuid),
      ['a', 'b'],
    );
  });
});

describe('FakeDriver interfaces', () => {
  it('records the NetworkInfo a guest starts with, and keeps it on starts without one', async () => {
    const d = driver();
    await d.init('h');
    const [a, b, c] = [testVif(), testVif(), testVif()];
    await d.spawn(guest('plain', 'hdd'), 'h-node0');
    assert.deepEqual(d.interfacesOf('plain'), [], 'a spawn without NetworkInfo gives no interfaces');
    await d.spawn(guest('g', 'hdd'), 'h-node0', [a, b]);
    assert.deepEqual(d.interfacesOf('g'), [a, b]);
    await d.powerOff('g');
    await d.powerOn('g');
    await d.reboot('g', 'HARD');
    assert.deepEqual(d.interfacesOf('g'), [a, b], 'starts without NetworkInfo keep the interfaces');
    await d.reboot('g', 'HARD', [c]);
    assert.deepEqual(d.interfacesOf('g'), [c], 'a start with NetworkInfo takes it');
  });

  it('attaches and detaches interfaces idempotently, refusing while suspended', async () => {
    const d = driver();
    await d.init('h');
    const [a, b] = [testVif(), testVif()];
    await d.spawn(guest('g', 'hdd'), 'h-node0', [a]);
    await d.attachInterface('g', b);
    await d.attachInterface('g', b);
    assert.deepEqual(d.interfacesOf('g'), [a, b]);
    await d.detachInterface('g', a);
    await d.detachInterface('g', a);
    assert.deepEqual(d.interfacesOf('g'), [b]);
    await d.suspend('g');
    await assert.rejects(d.attachInterface('g', a), InstanceInvalidState);
    await assert.rejects(d.detachInterface('g', b), InstanceInvalidState);
    assert.deepEqual(d.interfacesOf('g'), [b]);
  });
});
