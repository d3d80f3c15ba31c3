/**
 * What each service type records, read as Prometheus scrapes it: a boot through conductor, scheduler
 * and compute leaves RPC series for each topic, a scheduler decision, a build outcome, and the
 * conductor's gauges of instances by state and heartbeat ages.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createApiServer } from '../../../src/api/http/create-server.ts';
import { registry } from '../../../src/common/metrics/metrics.ts';
import { refreshFleetGauges } from '../../../src/conductor/fleet-gauges.ts';
import { startTestCloud, smallFlavor, type TestCloud } from '../../helpers/in-process-cloud.ts';

let cloud: TestCloud;
before(async () => {
  cloud = await startTestCloud({ computeHosts: ['metrics-host'] });
});
after(async () => {
  await cloud?.stop();
});

test('a boot is counted by every service on its way', async () => {
  const [uuid] = await cloud.boot(await smallFlavor(cloud.database), 1, 'counted');
  assert.ok(uuid);
  await cloud.waitFor(uuid, (i) => i.vm_state === 'active');
  await refreshFleetGauges(cloud.database);
  // Stopping the host waits for its handlers in flight: the build's own series are then recorded.
  await cloud.stopComputeHost('metrics-host');
  const text = await registry.metrics();
  for (const topic of ['conductor', 'scheduler', 'compute']) {
    assert.match(
      text,
      new RegExp(`stratus_rpc_server_duration_seconds_count\\{[^}]*topic="${topic}"[^}]*outcome="ok"`),
    );
  }
  assert.match(text, /stratus_rpc_client_duration_seconds_count\{[^}]*method="select_destinations",kind="call"/);
  assert.match(text, /stratus_scheduler_decisions_total\{outcome="selected"\} [1-9]/);
  assert.match(text, /stratus_compute_builds_total\{outcome="active"\} [1-9]/);
  assert.match(text, /stratus_instances\{vm_state="active"\} [1-9]/);
  assert.match(text, /stratus_service_heartbeat_age_seconds\{binary="stratus-compute",host="metrics-host"\} \d/);
});

test('API requests are counted by route template, never by the path as sent', async () => {
  const app = createApiServer({ kind: 'identity', tokens: { validate: () => Promise.reject(new Error('no tokens')) } });
  app.get('/v3/things/:thing_id', { config: { public: true } }, async () => ({ ok: true }));
  await app.ready();
  await app.inject({ method: 'GET', url: '/v3/things/0123456789abcdef' });
  await app.inject({ method: 'GET', url: '/v3/nowhere/0123456789abcdef' });
  await app.close();
  const text = await registry.metrics();
  assert.match(
    text,
    /stratus_api_request_duration_seconds_count\{api="identity",route="\/v3\/things\/:thing_id",method="GET",status="200"\} 1/,
  );
  assert.match(
    text,
    /stratus_api_request_duration_seconds_count\{api="identity",route="<unmatched>",method="GET",status="\d+"\} 1/,
  );
  assert.doesNotMatch(text, /0123456789abcdef/);
});
