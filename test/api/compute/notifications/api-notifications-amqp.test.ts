/**
 * The API's versioned notifications as a Nova consumer reads them from RabbitMQ: the api process's apps
 * (buildApiApps) on a real bus, in a private vhost, and a queue bound to `versioned_notifications.info`
 * on the `nova` exchange, declared as oslo.messaging's listener declares it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bootstrapIdentity } from '../../../../src/api/identity/bootstrap.ts';
import { buildApiApps, type ApiApps } from '../../../../src/api/service.ts';
import { loadConfig } from '../../../../src/common/config/load-config.ts';
import { registerService } from '../../../../src/objects/services.ts';
import { connectBus, type Bus } from '../../../../src/runtime/bus.ts';
import { openTestDatabase, type TestDatabase } from '../../../helpers/database.ts';
import { listenForNotifications, type NotificationListener } from '../../../helpers/notification-listener.ts';
import { createVhost } from '../../../helpers/rabbit-vhost.ts';

interface Message {
  publisher_id: string;
  event_type: string;
  priority: string;
  timestamp: string;
  _context_request_id: string;
  payload: { 'nova_object.name': string; 'nova_object.version': string; 'nova_object.data': Record<string, unknown> };
}

let vhost: Awaited<ReturnType<typeof createVhost>>;
let listener: NotificationListener<Message>;
let database: TestDatabase;
let bus: Bus;
let apps: ApiApps;
let state: string;
let token: string;

before(async () => {
  vhost = await createVhost();
  listener = await listenForNotifications<Message>(vhost.name);
  state = mkdtempSync(join(tmpdir(), 'stratus-api-notify-'));
  const config = loadConfig([], {
    DEFAULT: { transport_url: vhost.url, host: 'api-notify', state_path: state },
    oslo_messaging_notifications: { driver: 'messagingv2' },
  });
  database = await openTestDatabase();
  bus = await connectBus(config);
  apps = await buildApiApps(config, database, bus);
  await bootstrapIdentity(database, config, { password: 'notify-password-1' });
  const login = await apps.identity.inject({
    method: 'POST',
    url: '/v3/auth/tokens',
    payload: {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: 'admin', domain: { id: 'default' }, password: 'notify-password-1' } },
        },
        scope: { project: { name: 'admin', domain: { id: 'default' } } },
      },
    },
  });
  assert.equal(login.statusCode, 201, login.body);
  token = String(login.headers['x-subject-token']);
  await registerService(database.db, 'notify-cmp', 'stratus-compute', 'compute');
});

after(async () => {
  await Promise.all([apps?.identity.close(), apps?.compute.close(), apps?.image.close(), apps?.network.close()]);
  await apps?.tokens.stop();
  await apps?.rateLimiter.close();
  await apps?.notifications.flush();
  await bus?.close();
  await database?.close();
  await listener?.close();
  await vhost?.remove();
  if (state) rmSync(state, { recursive: true, force: true });
});

async function compute(method: 'POST' | 'PUT' | 'DELETE', url: string, payload?: object, version = '2.53') {
  const res = await apps.compute.inject({
    method,
    url,
    headers: { 'x-auth-token': token, 'openstack-api-version': `compute ${version}` },
    ...(payload ? { payload } : {}),
  });
  assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`);
  return res;
}

/** Resolves once a notification of that type has arrived. */
function notification(eventType: string): Promise<Message> {
  return listener.next((m) => m.event_type === eventType);
}

test('key pair, flavor, aggregate and service changes reach versioned_notifications.info', async () => {
  const keypair = await compute('POST', '/v2.1/os-keypairs', { keypair: { name: 'amqp-key' } });
  await compute('POST', '/v2.1/flavors', {
    flavor: { name: 'amqp-flavor', id: 'amqp-f', ram: 512, vcpus: 1, disk: 1 },
  });
  const agg = await compute('POST', '/v2.1/os-aggregates', { aggregate: { name: 'amqp-agg' } });
  const service = (await database.db.selectFrom('services').selectAll().where('host', '=', 'notify-cmp').execute())[0]!;
  await compute('PUT', `/v2.1/os-services/${service.uuid}`, { status: 'disabled' });

  const created = await notification('keypair.create.end');
  assert.equal(created.publisher_id, 'nova-api:api-notify');
  assert.equal(created.priority, 'INFO');
  assert.match(created.timestamp, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
  assert.equal(created._context_request_id, keypair.headers['x-openstack-request-id']);
  assert.equal(created.payload['nova_object.name'], 'KeypairPayload');
  assert.equal(created.payload['nova_object.data']['fingerprint'], keypair.json().keypair.fingerprint);
  const order = listener.received.map((r) => r.message);
  assert.ok(order.indexOf(await notification('keypair.create.start')) < order.indexOf(created));

  const flavor = await notification('flavor.create');
  assert.equal(flavor.payload['nova_object.name'], 'FlavorPayload');
  assert.equal(flavor.payload['nova_object.data']['flavorid'], 'amqp-f');

  const aggregate = await notification('aggregate.create.end');
  assert.equal(aggregate.payload['nova_object.data']['id'], agg.json().aggregate.id);
  assert.equal(aggregate.payload['nova_object.data']['uuid'], agg.json().aggregate.uuid);

  const disabled = await notification('service.update');
  assert.equal(disabled.publisher_id, 'nova-compute:notify-cmp');
  assert.equal(disabled.payload['nova_object.name'], 'ServiceStatusPayload');
  assert.equal(disabled.payload['nova_object.data']['disabled'], true);
});
