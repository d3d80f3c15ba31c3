/**
 * Compute contract 1.6 (guest networking) as a rolling upgrade meets it: a host of 1.5 gets its builds
 * and unshelves without network_info and is never asked to attach or detach an interface. Compute 1.12:
 * a host of 1.10 gets Vif 1.0 (no remote_group_id on rules) and no security_group_members_changed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminContext } from '../../../src/common/context.ts';
import { RpcClient } from '../../../src/common/rpc/index.ts';
import { UnsupportedRpcVersion } from '../../../src/common/rpc/index.ts';
import { ComputeRpcApi } from '../../../src/wire/contracts/compute.ts';
import { RecordingTransport } from '../../api/compute/helpers.ts';
import { instancePayload } from '../../helpers/instance-payload.ts';
import { testVif } from '../../helpers/vif.ts';

function capped(cap?: '1.5' | '1.6' | '1.10' | '1.12') {
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

describe('compute contract 1.12', () => {
  const instance = instancePayload('6f1c1b2e-8a51-4d1e-9f3e-2d7b6c9a0b12');
  const rule = {
    direction: 'ingress' as const,
    ethertype: 'IPv4' as const,
    protocol: null,
    port_range_min: null,
    port_range_max: null,
    remote_prefixes: ['10.0.0.5/32'],
    remote_group_id: 'g1',
  };
  const vif = { ...testVif(), security_group_rules: [rule] };
  const members = [{ id: 'g1', ipv4: ['10.0.0.5/32', '10.0.0.6/32'], ipv6: [] }];

  it('sends rules with their remote group and member changes to a 1.12 host', async () => {
    const current = capped('1.12');
    await current.compute.networkInfoChanged(adminContext(), 'h1', instance, [vif]);
    await current.compute.securityGroupMembersChanged(adminContext(), 'h1', members);
    const [changed, told] = current.transport.casts;
    const [sent] = changed!.args['network_info'] as { payload_version: string; security_group_rules: object[] }[];
    assert.equal(sent!.payload_version, '1.1');
    assert.deepEqual(sent!.security_group_rules, [rule]);
    assert.deepEqual(told!.args['groups'], members);
  });

  it('backports Vif to 1.0 for a 1.10 host and refuses it member changes before sending', async () => {
    const old = capped('1.10');
    await old.compute.networkInfoChanged(adminContext(), 'h1', instance, [vif]);
    const [sent] = old.transport.casts[0]!.args['network_info'] as {
      payload_version: string;
      security_group_rules: object[];
    }[];
    assert.equal(sent!.payload_version, '1.0');
    const { remote_group_id: _group, ...withoutGroup } = rule;
    assert.deepEqual(sent!.security_group_rules, [withoutGroup]);
    await assert.rejects(
      old.compute.securityGroupMembersChanged(adminContext(), 'h1', members),
      (err: Error) => err instanceof UnsupportedRpcVersion,
    );
    assert.equal(old.transport.casts.length, 1);
  });
});
