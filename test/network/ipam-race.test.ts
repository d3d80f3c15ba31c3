/**
 * IPAM under contention, on SQLite (a shared file), MariaDB and PostgreSQL: allocators on separate
 * connections (as separate API or conductor processes would be) race for the few free addresses of a
 * subnet, through the network API's port create and through the conductor's (createInstancePort). Every address goes to exactly
 * one port, the losers get IpAddressGenerationFailure, and nothing is handed out twice. Each allocator
 * is another project on a shared network: creates of one project take turns on its quota lock, so
 * only different projects race in IPAM itself.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { userContext } from '../../src/common/context.ts';
import { openDatabase, type Database } from '../../src/common/db/database.ts';
import { IpAddressGenerationFailure } from '../../src/network/errors.ts';
import { createNetwork } from '../../src/network/networks.ts';
import { createPort } from '../../src/network/ports.ts';
import { createInstancePort, createInstancePorts, portAddresses } from '../../src/network/server-ports.ts';
import { createSubnet } from '../../src/network/subnets.ts';
import { openSharedSqliteDatabase, openTestDatabase, type TestDatabase } from '../helpers/database.ts';

const PROJECT = 'race-project';
const ctx = userContext({ userId: 'u', projectId: PROJECT, roles: ['member'] });
const allocatorCtx = (i: number) => userContext({ userId: `u${i}`, projectId: `race-${i}`, roles: ['member'] });
const ALLOCATORS = 6;

/** Makes a port, or several, on its allocator's connection; their addresses. */
type Allocate = (c: Database, n: number, networkId: string) => Promise<string | string[]>;

for (const dialect of ['sqlite', 'mysql', 'postgres'] as const) {
  describe(`IPAM races on ${dialect}`, { concurrency: 1 }, () => {
    let database: TestDatabase;
    const connections: Database[] = [];
    before(async () => {
      database = dialect === 'sqlite' ? await openSharedSqliteDatabase() : await openTestDatabase(dialect);
      for (let i = 0; i < ALLOCATORS; i++) connections.push(await openDatabase(database.url));
    });
    after(async () => {
      for (const c of connections) await c.close();
      await database.close();
    });

    /** A network whose subnet's pool holds `size` addresses (10.9.0.2 on). */
    async function tinyNetwork(size: number): Promise<string> {
      const net = await createNetwork(database.db, { project_id: PROJECT, name: `race-${size}`, shared: true });
      await createSubnet(database.db, ctx, {
        project_id: PROJECT,
        network_id: net.id,
        ip_version: 4,
        cidr: '10.9.0.0/24',
        allocation_pools: [{ start: '10.9.0.2', end: `10.9.0.${1 + size}` }],
      });
      return net.id;
    }

    /** A port made as the network API makes it; its address. */
    const apiCreate = async (c: Database, n: number, networkId: string) => {
      const mine = allocatorCtx(n);
      const port = await createPort(c.db, mine, { project_id: mine.projectId!, network_id: networkId });
      return port.fixed_ips[0]!.ip_address;
    };
    /** A port made as a conductor makes a server's; its address. */
    const conductorCreate = async (c: Database, n: number, networkId: string) => {
      const { row, fixedIps } = await createInstancePort(
        c.db,
        { projectId: `race-${n}`, networkId, fixedIp: null, securityGroups: ['default'] },
        { deviceId: `server-${n}`, deviceOwner: 'compute:nova', hostId: `host-${n}` },
      );
      // What the create says it wrote is what the database holds.
      assert.deepEqual(await portAddresses(c.db, row.id), fixedIps);
      return fixedIps[0]!.ip_address;
    };

    /** Five ports made together, as a conductor makes a burst of servers' ports; their addresses. */
    const conductorBatch = async (c: Database, n: number, networkId: string) => {
      const devices = [1, 2, 3, 4, 5].map((i) => ({
        deviceId: `server-${n}-${i}`,
        deviceOwner: 'compute:nova',
        hostId: `host-${n}`,
      }));
      const ports = await createInstancePorts(
        c.db,
        { projectId: `race-${n}`, networkId, securityGroups: ['default'] },
        devices,
      );
      for (const port of ports) assert.deepEqual(await portAddresses(c.db, port.row.id), port.fixedIps);
      return ports.map((p) => p.fixedIps[0]!.ip_address);
    };

    /** Each allocator creates ports on its own connection until the subnet is full. */
    async function race(networkId: string, perAllocator: number, create: Allocate = apiCreate) {
      const outcomes = await Promise.all(
        connections.map(async (c, n) => {
          const won: string[] = [];
          let refused = 0;
          for (let i = 0; i < perAllocator; i++) {
            try {
              won.push(...[await create(c, n, networkId)].flat());
            } catch (err) {
              assert.ok(err instanceof IpAddressGenerationFailure, String(err));
              refused++;
            }
          }
          return { won, refused };
        }),
      );
      return { won: outcomes.flatMap((o) => o.won), refused: outcomes.reduce((n, o) => n + o.refused, 0) };
    }

    it('many allocators fill a pool: each address once, the rest refused', async () => {
      const networkId = await tinyNetwork(10);
      const { won, refused } = await race(networkId, 3);
      assert.equal(won.length, 10);
      assert.equal(new Set(won).size, 10, `an address went twice: ${won.join(' ')}`);
      assert.equal(refused, ALLOCATORS * 3 - 10);
      const rows = await database.db
        .selectFrom('ip_allocations')
        .select('ip_address')
        .where('network_id', '=', networkId)
        .execute();
      assert.deepEqual(rows.map((r) => r.ip_address).sort(), [...won].sort());
    });

    it('a pool many probe windows long fills with each address once', async () => {
      const networkId = await tinyNetwork(150);
      const { won, refused } = await race(networkId, 30);
      assert.equal(won.length, 150);
      assert.equal(new Set(won).size, 150, `an address went twice: ${won.join(' ')}`);
      assert.equal(refused, ALLOCATORS * 30 - 150);
    });

    it('the last free address goes to exactly one of the racers', async () => {
      const networkId = await tinyNetwork(4);
      for (let i = 0; i < 3; i++) await createPort(database.db, ctx, { project_id: PROJECT, network_id: networkId });
      const { won, refused } = await race(networkId, 1);
      assert.equal(won.length, 1);
      assert.equal(refused, ALLOCATORS - 1);
      const ports = await database.db.selectFrom('ports').select('id').where('network_id', '=', networkId).execute();
      assert.equal(ports.length, 4, 'a refused create left no port behind');
    });

    it("conductors making bursts of servers' ports together race the same way", async () => {
      const networkId = await tinyNetwork(40);
      const { won, refused } = await race(networkId, 2, conductorBatch);
      assert.equal(won.length, 40);
      assert.equal(new Set(won).size, 40, `an address went twice: ${won.join(' ')}`);
      assert.equal(refused, ALLOCATORS * 2 - 8, 'a batch is made whole or not at all');
      const ports = await database.db.selectFrom('ports').select('id').where('network_id', '=', networkId).execute();
      assert.equal(ports.length, 40, 'a refused batch left no port behind');
    });

    it("conductors making servers' ports race the same way", async () => {
      const networkId = await tinyNetwork(8);
      const { won, refused } = await race(networkId, 2, conductorCreate);
      assert.equal(won.length, 8);
      assert.equal(new Set(won).size, 8, `an address went twice: ${won.join(' ')}`);
      assert.equal(refused, ALLOCATORS * 2 - 8);
      const ports = await database.db.selectFrom('ports').select('id').where('network_id', '=', networkId).execute();
      assert.equal(ports.length, 8, 'a refused create left no port behind');
    });
  });
}
