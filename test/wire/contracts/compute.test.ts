/**
 * Compute contract 1.6 (guest networking) as a rolling upgrade meets it: a host of 1.5 gets its builds
 * and unshelves without network_info and is never asked to attach or detach an interface. Compute 1.12:
 * a host of 1.10 gets Vif 1.0 (no remote_group_id on rules) and no security_group_members_changed.
 * Compute 1.14: a rule may name its remote group without addresses (Vif 1.2), for 1.14 hosts only: such
 * a Vif can never reach a 1.13 host (the backport refuses it before anything is sent).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminContext } from '../../../src/common/context.ts';
import { RpcClient } from '../../../src/common/rpc/index.ts';
import { UnsupportedRpcVersion } from '../../../src/common/rpc/index.ts';
import { Compile } from 'typebox/compile';
import { ComputeRpcApi } from '../../../src/wire/contracts/compute.ts';
import { VifSchema } from '../../../src/wire/messages/network-info.ts';
import { RecordingTransport } from '../../api/compute/helpers.ts';
import { instancePayload } from '../../helpers/instance-payload.ts';
import { namingVif, testVif, watchingVif } from '../../helpers/vif.ts';

function capped(cap?: '1.5' | '1.6' | '1.10' | '1.12' | '1.13' | '1.14') {
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

describe('compute contract 1.14', () => {
  const instance = instancePayload('6f1c1b2e-8a51-4d1e-9f3e-2d7b6c9a0b14');

  it('says which hosts follow remote groups', async () => {
    assert.equal(await capped('1.14').compute.followsRemoteGroups(), true);
    assert.equal(await capped().compute.followsRemoteGroups(), true, 'uncapped: this release');
    assert.equal(await capped('1.13').compute.followsRemoteGroups(), false);
  });

  it('sends a rule naming its group without addresses to a 1.14 host as Vif 1.2', async () => {
    const current = capped('1.14');
    const vif = namingVif('g1');
    await current.compute.networkInfoChanged(adminContext(), 'h1', instance, [vif]);
    const cast = current.transport.casts[0]!;
    const [sent] = cast.args['network_info'] as { payload_version: string; security_group_rules: object[] }[];
    assert.equal(sent!.payload_version, '1.2');
    assert.deepEqual(sent!.security_group_rules, vif.security_group_rules);
    assert.equal('remote_prefixes' in sent!.security_group_rules[0]!, false);
  });

  it('never lets such a rule reach a 1.13 host: refused before sending, naming the way out', async () => {
    const old = capped('1.13');
    const vif = namingVif('g1');
    const build = { instance, node: 'n1', alternates: [], attempt: 1, network_info: [vif] };
    const refusal = (err: Error) => /reads Vif 1\.1.*remote groups? expanded/s.test(err.message);
    await assert.rejects(old.compute.buildAndRunInstance(adminContext(), 'h1', build), refusal);
    await assert.rejects(old.compute.attachInterface(adminContext(), 'h1', instance, vif), refusal);
    await assert.rejects(old.compute.networkInfoChanged(adminContext(), 'h1', instance, [vif]), refusal);
    assert.equal(old.transport.casts.length, 0);
    // Expanded rules still go, as Vif 1.1.
    await old.compute.buildAndRunInstance(adminContext(), 'h1', {
      ...build,
      network_info: [watchingVif('g1', ['10.0.0.5/32'])],
    });
    const [sent] = old.transport.casts[0]!.args['network_info'] as { payload_version: string }[];
    assert.equal(sent!.payload_version, '1.1');
  });

  it('refuses a rule with neither addresses nor a remote group, and takes null only as any address', () => {
    const check = Compile(VifSchema);
    const vif = namingVif('g1');
    assert.ok(check.Check(vif));
    const { remote_group_id: _group, ...bare } = vif.security_group_rules[0]!;
    assert.equal(check.Check({ ...vif, security_group_rules: [bare] }), false);
    assert.ok(check.Check({ ...vif, security_group_rules: [{ ...bare, remote_prefixes: null }] }));
  });
});
