/**
 * The networks router and floating IP tests start from: an external network (admin's, 203.0.113.0/24)
 * and, for alice and bob, a private network with a subnet and a guest-like port.
 */
import { strict as assert } from 'node:assert';
import type { NetworkApiHarness, Who } from './helpers.ts';

export type Obj = Record<string, unknown> & { id: string };

export interface L3Fixture {
  external: string;
  externalSubnet: string;
  /** A second external network with no router to it. */
  otherExternal: string;
  alice: { network: string; subnet: string; port: string };
  bob: { network: string; subnet: string; port: string };
}

export async function post(
  api: NetworkApiHarness,
  who: Who,
  kind: string,
  body: Record<string, unknown>,
): Promise<Obj> {
  const res = await api.call(who, 'POST', `/v2.0/${kind === 'floatingip' ? 'floatingips' : `${kind}s`}`, {
    [kind]: body,
  });
  assert.equal(res.status, 201, `${kind}: ${JSON.stringify(res.body)}`);
  return res.body[kind] as Obj;
}

async function privateNetwork(api: NetworkApiHarness, who: Who, cidr: string) {
  const network = await post(api, who, 'network', { name: `${who}-net` });
  const subnet = await post(api, who, 'subnet', { network_id: network.id, ip_version: 4, cidr });
  const port = await post(api, who, 'port', {
    network_id: network.id,
    name: `${who}-vm`,
    device_owner: 'compute:nova',
  });
  return { network: network.id, subnet: subnet.id, port: port.id };
}

export async function l3Fixture(api: NetworkApiHarness): Promise<L3Fixture> {
  const external = await post(api, 'admin', 'network', { name: 'public', 'router:external': true });
  const externalSubnet = await post(api, 'admin', 'subnet', {
    network_id: external.id,
    ip_version: 4,
    cidr: '203.0.113.0/24',
  });
  const other = await post(api, 'admin', 'network', { name: 'public2', 'router:external': true });
  await post(api, 'admin', 'subnet', { network_id: other.id, ip_version: 4, cidr: '198.51.100.0/24' });
  return {
    external: external.id,
    externalSubnet: externalSubnet.id,
    otherExternal: other.id,
    alice: await privateNetwork(api, 'alice', '10.10.0.0/24'),
    bob: await privateNetwork(api, 'bob', '10.20.0.0/24'),
  };
}

export const errorOf = (body: Record<string, unknown>) => body['NeutronError'] as { type: string; message: string };
