/**
 * The metadata service's own port answers oslo.middleware's healthcheck for the balancer in front of it,
 * checking the database it serves from.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { createMetadataServer } from '../../../src/api/metadata/service.ts';
import { loadConfig } from '../../../src/common/config/load-config.ts';
import { openTestDatabase, type TestDatabase } from '../../helpers/database.ts';

const servers: Server[] = [];
const databases: TestDatabase[] = [];
after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await Promise.all(databases.map((d) => d.close()));
});

async function serve(database: TestDatabase): Promise<string> {
  const server = createMetadataServer(loadConfig([], {}), database);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/healthcheck`;
}

test('answers the healthcheck: OK while its database answers, 503 naming the database when not', async () => {
  const database = await openTestDatabase();
  databases.push(database);
  const url = await serve(database);
  const ok = await fetch(url);
  assert.deepEqual([ok.status, await ok.text()], [200, 'OK']);
  assert.equal((await fetch(url, { method: 'HEAD' })).status, 204);

  // A database that no longer answers: its pool is gone.
  const gone = await openTestDatabase();
  databases.push(gone);
  const goneUrl = await serve(gone);
  await gone.db.destroy();
  const down = await fetch(goneUrl);
  assert.deepEqual([down.status, await down.text()], [503, 'database: unavailable']);
});
