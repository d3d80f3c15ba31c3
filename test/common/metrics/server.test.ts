/**
 * The operator listener: /metrics in Prometheus' text format and /healthcheck as oslo.middleware
 * answers, with real checks of a bus and a database that go down.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { registry } from '../../../src/common/metrics/metrics.ts';
import { startOperatorServer, type OperatorServer } from '../../../src/common/metrics/server.ts';
import { InProcessBroker, InProcessTransport } from '../../../src/common/rpc/index.ts';
import { databaseHealthCheck } from '../../../src/runtime/database-health.ts';
import { busHealthCheck } from '../../../src/runtime/operator-endpoints.ts';
import { openTestDatabase } from '../../helpers/database.ts';

const servers: OperatorServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

async function serve(checks: Parameters<typeof startOperatorServer>[0]['checks'], detailed = false) {
  const server = await startOperatorServer({
    host: '127.0.0.1',
    port: 0,
    checks,
    detailed,
    healthcheckPath: '/healthcheck',
  });
  servers.push(server);
  return (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${server.port}${path}`, init);
}

test('/metrics answers in the Prometheus text format', async () => {
  const get = await serve([]);
  const res = await get('/metrics');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), registry.contentType);
  const text = await res.text();
  assert.match(text, /# TYPE stratus_api_request_duration_seconds histogram/);
  assert.match(text, /# TYPE stratus_rpc_client_duration_seconds histogram/);
  assert.equal((await get('/nothing')).status, 404);
  assert.equal((await get('/metrics', { method: 'POST' })).status, 405);
});

test('the health check follows the bus and the database, as oslo.middleware answers', async () => {
  const transport = new InProcessTransport(new InProcessBroker(), 'health');
  await transport.connect();
  const database = await openTestDatabase('sqlite');
  const get = await serve([busHealthCheck(transport), databaseHealthCheck(database)]);

  let res = await get('/healthcheck');
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'OK');
  assert.equal((await get('/healthcheck', { method: 'HEAD' })).status, 204);
  res = await get('/healthcheck', { headers: { accept: 'application/json' } });
  assert.deepEqual(await res.json(), { detailed: false, reasons: ['OK'] });

  await database.close();
  res = await get('/healthcheck');
  assert.equal(res.status, 503);
  assert.match(await res.text(), /^database: /);

  await transport.close();
  res = await get('/healthcheck', { headers: { accept: 'application/json' } });
  assert.equal(res.status, 503);
  const body = (await res.json()) as { detailed: boolean; reasons: string[] };
  assert.equal(body.detailed, false);
  assert.equal(body.reasons.length, 2);
  assert.match(body.reasons[0] ?? '', /^message bus: not connected/);
  assert.equal((await get('/healthcheck', { method: 'HEAD' })).status, 503);
});

test('a detailed health check lists each check with its details', async () => {
  const transport = new InProcessTransport(new InProcessBroker(), 'detailed');
  await transport.connect();
  const get = await serve([busHealthCheck(transport)], true);
  const res = await get('/healthcheck', { headers: { accept: 'application/json' } });
  const body = (await res.json()) as {
    detailed: boolean;
    reasons: { reason: string; class: string; details: string }[];
  };
  assert.equal(body.detailed, true);
  assert.deepEqual(body.reasons, [
    { reason: 'OK', class: 'HealthcheckResult', details: 'connection to fake://detailed' },
  ]);
  await transport.close();
});
