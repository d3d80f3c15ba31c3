/**
 * IPAM's automatic pick in a subnet filled past the windows it probes first (ipam.ts): the free
 * addresses left far into the pool are still found, each once, "no more addresses" comes only when
 * there are none, and an address freed behind the pick is handed out again. Addresses taken by explicit
 * requests stand for those another API process allocated, which this process's hints know nothing of.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { userContext } from '../../src/common/context.ts';
import { IpAddressGenerationFailure } from '../../src/network/errors.ts';
import { createNetwork } from '../../src/network/networks.ts';
import { createPort, deletePort } from '../../src/network/ports.ts';
import { createSubnet } from '../../src/network/subnets.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/database.ts';

const PROJECT = 'ipam-project';
const ctx = userContext({ userId: 'u', projectId: PROJECT, roles: ['member'] });

describe('IPAM automatic pick', () => {
  let database: TestDatabase;
  before(async () => {
    database = await openTestDatabase();
  });
  after(() => database.close());

  async function network(last: number): Promise<string> {
    const net = await createNetwork(database.db, { project_id: PROJECT, name: `ipam-${last}` });
    await createSubnet(database.db, ctx, {
      project_id: PROJECT,
      network_id: net.id,
      ip_version: 4,
      cidr: '10.20.0.0/24',
      allocation_pools: [{ start: '10.20.0.2', end: `10.20.0.${last}` }],
    });
    return net.id;
  }

  const take = (networkId: string, address: string) =>
    createPort(database.db, ctx, { project_id: PROJECT, network_id: networkId, fixed_ips: [{ ip_address: address }] });
  const auto = async (networkId: string) =>
    (await createPort(database.db, ctx, { project_id: PROJECT, network_id: networkId })).fixed_ips[0]!.ip_address;

  it('finds the last free addresses of a nearly full pool, each once, then refuses', async () => {
    const networkId = await network(254);
    const ports = new Map<string, string>();
    for (let host = 2; host <= 254; host++) {
      if (host === 201 || host === 250) continue;
      ports.set(`10.20.0.${host}`, (await take(networkId, `10.20.0.${host}`)).id);
    }
    const picked = [await auto(networkId), await auto(networkId)];
    assert.deepEqual(picked.sort(), ['10.20.0.201', '10.20.0.250']);
    await assert.rejects(auto(networkId), IpAddressGenerationFailure);

    // Freed behind every pick so far: found again, and only it.
    await deletePort(database.db, ctx, ports.get('10.20.0.5')!, { viaApi: true });
    assert.equal(await auto(networkId), '10.20.0.5');
    await assert.rejects(auto(networkId), IpAddressGenerationFailure);
  });

  it('goes on past addresses taken since its last pick', async () => {
    const networkId = await network(100);
    const first = await auto(networkId);
    // Another process takes the addresses right after this one's pick.
    const taken = new Set([first]);
    for (let host = 2; host <= 90; host++) {
      const address = `10.20.0.${host}`;
      if (taken.has(address)) continue;
      await take(networkId, address);
      taken.add(address);
    }
    const rest: string[] = [];
    for (let i = 0; i < 10; i++) rest.push(await auto(networkId));
    assert.deepEqual(
      rest.sort(),
      Array.from({ length: 10 }, (_, i) => `10.20.0.${91 + i}`).sort(),
      'the ten free addresses, each once',
    );
    await assert.rejects(auto(networkId), IpAddressGenerationFailure);
  });
});
