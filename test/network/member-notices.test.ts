/**
 * A port joining or leaving a security group reaches the hosts of the ports whose rules name that group
 * as remote group, whichever host it is on (network/member-notices.ts, compute 1.12
 * security_group_members_changed): servers of one project in its `default` group (whose ingress rules
 * name the group itself) on two compute hosts of the in-process cloud. What each host's rules admit (its
 * record of the guest's interfaces, the rule naming the group, expanded to the host's stored set of the
 * group, from which its datapath is plugged and reconciled) must be every member's address after the
 * builds, and lose a deleted server's.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { adminContext } from '../../src/common/context.ts';
import { expandRemoteGroups, MemberSets } from '../../src/compute/network/member-sets.ts';
import { VifCache } from '../../src/compute/network/vif-cache.ts';
import { instancePayload } from '../../src/objects/instance-payload.ts';
import type { Instance } from '../../src/objects/instances.ts';
import { ComputeRpcApi } from '../../src/wire/contracts/compute.ts';
import { createTestNetwork, type TestNetwork } from '../helpers/networks.ts';
import { smallFlavor, startTestCloud, type TestCloud } from '../helpers/in-process-cloud.ts';
import { waitUntil } from '../helpers/processes.ts';

describe('security group member changes reach every watching host', () => {
  let cloud: TestCloud;
  let network: TestNetwork;
  before(async () => {
    cloud = await startTestCloud({ computeHosts: ['member-a', 'member-b'] });
    network = await createTestNetwork(cloud.database.db, { projectId: 'p1', name: 'members', prefix: '10.52.0' });
  });
  after(() => cloud.stop());

  /** What the server's host admits by the default group's IPv4 ingress rule: the group's set there. */
  async function admitted(instance: Instance): Promise<string[]> {
    const directory = join(cloud.config.compute.vif_cache_directory, instance.host!);
    const [recorded] = (await new VifCache(directory).read(instance.uuid)) ?? [];
    const sets = new MemberSets(join(directory, 'groups'));
    await sets.load();
    const vif = recorded && expandRemoteGroups(recorded, (id) => sets.get(id));
    const rule = vif?.security_group_rules.find(
      (r) => r.direction === 'ingress' && r.ethertype === 'IPv4' && r.remote_group_id !== undefined,
    );
    return rule?.remote_prefixes ?? [];
  }

  async function addressOf(uuid: string): Promise<string> {
    const row = await cloud.database.db
      .selectFrom('ip_allocations as a')
      .innerJoin('ports as p', 'p.id', 'a.port_id')
      .select('a.ip_address')
      .where('p.device_id', '=', uuid)
      .executeTakeFirstOrThrow();
    return `${row.ip_address}/32`;
  }

  /** Every server's host admits exactly `expected` (sorted) through the group, once its notices arrived. */
  async function allAdmit(servers: Instance[], expected: string[]): Promise<void> {
    for (const server of servers) {
      let last: string[] = [];
      await waitUntil(
        `${server.display_name} on ${server.host} admitting ${expected.join(', ')}`,
        async () => {
          last = await admitted(server);
          return last.join() === expected.join();
        },
        15_000,
        () => `it admits ${last.join(', ')}`,
      );
    }
  }

  it('tells the hosts of the other members when servers join and leave, on either host', async () => {
    const flavor = await smallFlavor(cloud.database, 'm1.members');
    const nic = { network_id: network.id, fixed_ip: null, port_id: null, tag: null, security_groups: ['default'] };
    const servers: Instance[] = [];
    // One after another, so that each build's own NetworkInfo lacks the servers built after it: only
    // the member notices can tell the earlier ones' hosts.
    for (let i = 0; i < 4; i++) {
      const [uuid] = await cloud.boot(flavor, 1, `member-${i}`, { nics: [nic] });
      servers.push(await cloud.waitFor(uuid!, (s) => s.vm_state === 'active' && s.task_state === null));
    }
    const hosts = new Set(servers.map((s) => s.host));
    assert.equal(hosts.size, 2, `the servers are spread over both hosts (${[...hosts].join(', ')})`);
    const addresses = (await Promise.all(servers.map((s) => addressOf(s.uuid)))).sort();
    await allAdmit(servers, addresses);

    // The first server goes: every other host forgets its address.
    const [gone, ...rest] = servers;
    const compute = new ComputeRpcApi(cloud.bus.rpc);
    await compute.terminateInstance(adminContext(), gone!.host!, instancePayload(gone!));
    await cloud.waitFor(gone!.uuid, (s) => Boolean(s.deleted));
    const goneAddress = await addressOf(gone!.uuid).catch(() => null);
    assert.equal(goneAddress, null, 'its port is deleted');
    const remaining = (await Promise.all(rest.map((s) => addressOf(s.uuid)))).sort();
    await allAdmit(rest, remaining);
  });
});
