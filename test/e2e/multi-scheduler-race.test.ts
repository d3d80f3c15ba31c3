/**
 * Several scheduler processes racing for the last capacity of the fleet, on RabbitMQ with MariaDB and
 * with PostgreSQL: more single-server requests than fit go through the API at once; afterwards no
 * inventory is overcommitted (used <= (total - reserved) * allocation_ratio, from the allocations in the
 * database), exactly what fits is ACTIVE, and every other server ended in ERROR with "No valid host was
 * found" (none left in BUILD).
 *
 * The fleet: two compute processes of three fake nodes each. cmp-a's nodes run out of VCPU after 3
 * servers, cmp-b's out of MEMORY_MB after 2 (with some memory left over, too little for another), so
 * 15 servers fit. Three schedulers with host_subset_size 1 and their own views all go for the same best
 * host, so their claims collide on every host's last slot.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRawImage, startMultiProcess, type Deployment } from '../helpers/deployments.ts';
import { waitUntil } from '../helpers/processes.ts';
import { openRestSessionFromOpenrc, type RestSession } from '../helpers/rest-session.ts';

const FLAVOR = { vcpus: 1, ram: 512, disk: 1 };
/** 3 VCPU per node at ratio 1: 3 servers each. */
const CPU_BOUND = ['[fake_driver]', 'node_count = 3', 'vcpus = 3', 'memory_mb = 8192', 'local_gb = 50'];
/** (1836 - 512 reserved) MB per node: 2 servers each, 300 MB left that fit nothing. */
const RAM_BOUND = ['[fake_driver]', 'node_count = 3', 'vcpus = 16', 'memory_mb = 1836', 'local_gb = 50'];
const FITS = 3 * 3 + 3 * 2;
const REQUESTS = 24;

interface ServerDetail {
  id: string;
  status: string;
  fault?: { message: string };
}

function raceOn(engine: 'mysql' | 'postgres', label: string, skip?: string) {
  describe(`schedulers racing for the last capacity on RabbitMQ and ${label}`, { skip }, () => {
    let dir: string;
    const cleanup: (() => Promise<void>)[] = [];
    let d: Deployment;
    let api: RestSession;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'stratus-race-'));
      d = await startMultiProcess(dir, cleanup, {
        engine,
        schedulers: 3,
        computeHosts: ['cmp-a', 'cmp-b'],
        computeConfig: (host) => (host === 'cmp-a' ? CPU_BOUND : RAM_BOUND),
        sharedConfig: [
          '[DEFAULT]',
          'cpu_allocation_ratio = 1.0',
          'ram_allocation_ratio = 1.0',
          'disk_allocation_ratio = 1.0',
          'rpc_response_timeout = 60',
          '[filter_scheduler]',
          'host_subset_size = 1',
        ],
      });
      api = await openRestSessionFromOpenrc(d.env);
    });

    after(async () => {
      for (const fn of cleanup) await fn().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    });

    it(`boots ${REQUESTS} servers at once where ${FITS} fit: no overcommit, ${FITS} ACTIVE, the rest ERROR`, async () => {
      // Each node: VCPU and MEMORY_MB on its provider, DISK_GB on its storage pool's.
      await waitUntil(
        'all six nodes reported',
        async () => (await d.database.db.selectFrom('inventories').select('id').execute()).length >= 6 * 3,
        180_000,
        () => d.group.outputs(),
      );
      const imageId = await createRawImage(d.cli, dir, 'race-image', 1024);
      await d.cli.ok(
        'flavor',
        'create',
        '--vcpus',
        String(FLAVOR.vcpus),
        '--ram',
        String(FLAVOR.ram),
        '--disk',
        String(FLAVOR.disk),
        '--id',
        'race',
        'race',
      );

      const posted = await Promise.all(
        Array.from({ length: REQUESTS }, (_, i) =>
          api.request<{ server: { id: string } }>('POST', `${d.computeUrl}/servers`, {
            server: { name: `race-${i}`, flavorRef: 'race', imageRef: imageId },
          }),
        ),
      );
      for (const p of posted) assert.equal(p.status, 202, JSON.stringify(p.body));
      const ids = new Set(posted.map((p) => p.body.server.id));

      // The conductor sets ERROR first and records the fault right after, so a poll can fall in between.
      const settled = (s: ServerDetail) => s.status !== 'BUILD' && (s.status !== 'ERROR' || s.fault);
      const servers = await waitUntil(
        'every server out of BUILD, with a fault if in ERROR',
        async () => {
          const { body } = await api.request<{ servers: ServerDetail[] }>('GET', `${d.computeUrl}/servers/detail`);
          const ours = body.servers.filter((s) => ids.has(s.id));
          return ours.length === REQUESTS && ours.every(settled) ? ours : null;
        },
        120_000,
      );

      // The invariant, from the database's allocations (not from the usage rows claims maintain).
      const inventories = await d.database.db
        .selectFrom('inventories')
        .select(['resource_provider_id', 'resource_class', 'total', 'reserved', 'allocation_ratio'])
        .execute();
      const allocations = await d.database.db
        .selectFrom('allocations')
        .select(['resource_provider_id', 'resource_class', 'used', 'consumer_id'])
        .execute();
      for (const inv of inventories) {
        const used = allocations
          .filter((a) => a.resource_provider_id === inv.resource_provider_id && a.resource_class === inv.resource_class)
          .reduce((sum, a) => sum + Number(a.used), 0);
        const limit = (inv.total - inv.reserved) * inv.allocation_ratio;
        assert.ok(
          used <= limit,
          `provider ${inv.resource_provider_id} ${inv.resource_class}: ${used} used, ${limit} allowed`,
        );
      }

      const active = servers.filter((s) => s.status === 'ACTIVE');
      const failed = servers.filter((s) => s.status === 'ERROR');
      assert.equal(
        active.length,
        FITS,
        `ACTIVE: ${active.length}, statuses: ${servers.map((s) => s.status).join(' ')}`,
      );
      assert.equal(failed.length, REQUESTS - FITS, 'every server that did not fit is in ERROR');
      for (const s of failed) assert.match(s.fault?.message ?? '', /No valid host was found/, `fault of ${s.id}`);
      // Only the ACTIVE servers hold allocations: the failed ones left none behind.
      assert.deepEqual([...new Set(allocations.map((a) => a.consumer_id))].sort(), active.map((s) => s.id).sort());
    });
  });
}

raceOn('mysql', 'MariaDB');
raceOn('postgres', 'PostgreSQL');
