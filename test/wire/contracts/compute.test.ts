/**
 * Compute contract 1.6 (guest networking) as a rolling upgrade meets it: a host of 1.5 gets its builds
 * and unshelves without network_info and is never asked to attach or detach an interface.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminContext } from '../../../src/common/context.ts';
import { RpcClient } from '../../../src/common/rpc/index.ts';
import { ComputeRpcApi } from '../../../src/wire/contracts/compute.ts';
import { RecordingTransport } from '../../api/compute/helpers.ts';
import { instancePayload } from '../../helpers/instance-payload.ts';
import { testVif } from '../../helpers/vif.ts';

function capped(cap?: '1.5' | '1.6') {
  const transport = new RecordingTransport();
  return { transport, compute: new ComputeRpcApi(new RpcClient(transport, { responseTimeoutMs: 200 }), cap) };
}

describe('compute contract 1.6', () => {
  const instance = instancePayload('6f1c1b2e-8a51-4d1e-9f3e-2d7b6c9a0b11');
  const vif = testVif();
  const build = { instance, node: 'n1', alternates: [], attempt: 1, network_info: [vif] };

  it('sends network_info to a 1.6 host and drops it for a 1.5 one', async () => {
    const current = capped('1.6');
    await current.compute.buildAndRunInstance(adminContext(), 'h1', build);
    await current.compute.unshelveInstance(adminContext(), 'h1', instance, 'img', 'n1', [vif]);
    assert.deepEqual(
      current.transport.casts.map((c) => (c.args['network_info'] as unknown[]).length),
      [1, 1],
    );
    const old = capped('1.5');
    await old.compute.buildAndRunInstance(adminContext(), 'h1', build);
    await old.compute.unshelveInstance(adminContext(), 'h1', instance, 'img', 'n1', [vif]);
    assert.deepEqual(
      old.transport.casts.map((c) => 'network_info' in c.args),
      [false, false],
    );
  });

  it('refuses interface calls and network_info_changed to a 1.5 host before sending', async () => {
    const old = capped('1.5');
    await assert.rejects(old.compute.attachInterface(adminContext(), 'h1', instance, vif));
    await assert.rejects(old.compute.detachInterface(adminContext(), 'h1', instance, vif));
    await assert.rejects(old.compute.networkInfoChanged(adminContext(), 'h1', instance, [vif]));
    assert.equal(old.transport.casts.length, 0);
  });
});
