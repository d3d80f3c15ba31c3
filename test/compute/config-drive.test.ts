/**
 * The compute host's side of a config drive: the payload a build carries becomes the drive's files
 * (openstack/ and ec2/ trees) handed to the driver; a build without one gives the guest none.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/common/config/load-config.ts';
import { adminContext } from '../../src/common/context.ts';
import { ComputeManager } from '../../src/compute/manager.ts';
import { NoopNetworkDriver } from '../../src/compute/network/noop-driver.ts';
import { FakeDriver } from '../../src/compute/virt/fake/fake-driver.ts';
import type { ConductorRpcApi } from '../../src/wire/contracts/conductor.ts';
import { computeContract } from '../../src/wire/contracts/compute.ts';
import { fakeDriverOptions } from '../helpers/fake-driver-options.ts';
import { instancePayload } from '../helpers/instance-payload.ts';
import { guestInput } from '../guest-metadata/fixtures.ts';

const conductor = {
  instanceUpdate: async () => undefined,
  actionEvent: async () => undefined,
  rescheduleBuild: async () => undefined,
  reportNodes: async () => undefined,
  instanceUnshelved: async () => undefined,
  instanceShelveOffloaded: async () => undefined,
} as unknown as ConductorRpcApi;

describe('compute: config drive', () => {
  it("hands the driver the drive's files from the build's payload, and none without one", async () => {
    const driver = new FakeDriver(fakeDriverOptions());
    await driver.init('h');
    const manager = new ComputeManager('h', loadConfig([]), driver, new NoopNetworkDriver(), conductor);
    const metadata = guestInput({ uuid: 'with-drive', admin_pass: 'sesame' });
    await manager.buildAndRunInstance(adminContext(), instancePayload('with-drive'), 'h', [], 1, [], metadata);
    await manager.buildAndRunInstance(adminContext(), instancePayload('without'), 'h', [], 1, []);
    const files = driver.configDriveOf('with-drive');
    const meta = JSON.parse(files?.get('openstack/latest/meta_data.json')?.toString() ?? '{}');
    assert.equal(meta.uuid, 'with-drive');
    assert.equal(meta.admin_pass, 'sesame');
    assert.ok(files?.has('ec2/latest/meta-data.json'));
    assert.equal(driver.configDriveOf('without'), undefined);
    assert.equal((await driver.getDiagnostics('with-drive')).config_drive, true);
  });

  it("writes an offloaded guest's drive afresh where it is unshelved, from the unshelve's payload", async () => {
    const driver = new FakeDriver(fakeDriverOptions());
    await driver.init('h');
    const manager = new ComputeManager('h', loadConfig([]), driver, new NoopNetworkDriver(), conductor);
    const offloaded = { ...instancePayload('unshelved'), vm_state: 'shelved_offloaded', task_state: 'unshelving' };
    const metadata = guestInput({ uuid: 'unshelved', meta: { role: 'web' } });
    await manager.shelving.unshelve(adminContext(), offloaded, 'shelved-image', 'h', [], metadata);
    const meta = JSON.parse(
      driver.configDriveOf('unshelved')?.get('openstack/latest/meta_data.json')?.toString() ?? '{}',
    );
    assert.equal(meta.uuid, 'unshelved');
    assert.deepEqual(meta.meta, { role: 'web' });
    const plain = { ...instancePayload('no-drive'), vm_state: 'shelved_offloaded', task_state: 'unshelving' };
    await manager.shelving.unshelve(adminContext(), plain, 'shelved-image', 'h', []);
    assert.equal(driver.configDriveOf('no-drive'), undefined);
  });

  it('leaves the drive out of an unshelve sent to a host older than compute 1.13', () => {
    const unshelve = computeContract.methods.unshelve_instance;
    const revision = unshelve.revisions.find((r) => r.version === '1.13');
    const args = { instance: {}, image_id: 'i', node: 'n', config_drive: guestInput() };
    assert.ok(revision && !('config_drive' in revision.backport(args)));
  });

  it('leaves the drive out of a build sent to a host older than compute 1.10', () => {
    const build = computeContract.methods.build_and_run_instance;
    const revision = build.revisions.find((r) => r.version === '1.10');
    const args = { instance: {}, node: 'n', alternates: [], attempt: 1, config_drive: guestInput() };
    assert.ok(revision && !('config_drive' in revision.backport(args)));
  });
});
