/**
 * Versioned notifications as a Nova consumer reads them from RabbitMQ: a boot, a live migration and a
 * delete on the fake driver, read from `versioned_notifications.info` on the `nova` exchange of a private
 * vhost.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { adminContext } from '../../../src/common/context.ts';
import { instancePayload } from '../../../src/objects/instance-payload.ts';
import { ComputeRpcApi } from '../../../src/wire/contracts/compute.ts';
import { startTestCloud, smallFlavor, type TestCloud } from '../../helpers/in-process-cloud.ts';
import { liveMigrateAsApi } from '../../helpers/move-requests.ts';
import { listenForNotifications, type NotificationListener } from '../../helpers/notification-listener.ts';
import { createVhost } from '../../helpers/rabbit-vhost.ts';

interface Message {
  message_id: string;
  publisher_id: string;
  event_type: string;
  priority: string;
  timestamp: string;
  payload: {
    'nova_object.name': string;
    'nova_object.namespace': string;
    'nova_object.version': string;
    'nova_object.data': Record<string, unknown>;
  };
}

let vhost: Awaited<ReturnType<typeof createVhost>>;
let cloud: TestCloud;
let listener: NotificationListener<Message>;

before(async () => {
  vhost = await createVhost();
  listener = await listenForNotifications<Message>(vhost.name);
  cloud = await startTestCloud({
    computeHosts: ['notify-host'],
    overrides: {
      DEFAULT: { transport_url: vhost.url },
      oslo_messaging_notifications: { driver: 'messagingv2' },
      notifications: { notify_on_state_change: 'vm_state' },
    },
  });
});

after(async () => {
  await cloud?.stop();
  await listener?.close();
  await vhost?.remove();
});

/** Resolves once a notification of that type for that instance has arrived. */
function notification(eventType: string, uuid: string): Promise<Message> {
  return listener.next((m) => m.event_type === eventType && m.payload['nova_object.data']['uuid'] === uuid);
}

test('a boot and a delete send Nova versioned notifications to versioned_notifications.info', async () => {
  const [uuid] = await cloud.boot(await smallFlavor(cloud.database), 1, 'notified');
  assert.ok(uuid);
  await cloud.waitFor(uuid, (i) => i.vm_state === 'active');
  const start = await notification('instance.create.start', uuid);
  const end = await notification('instance.create.end', uuid);

  for (const r of listener.received) {
    assert.equal(r.envelope['oslo.version'], '2.0');
    assert.deepEqual(Object.keys(r.envelope).sort(), ['oslo.message', 'oslo.version']);
  }
  assert.equal(end.publisher_id, 'nova-compute:notify-host');
  assert.equal(end.priority, 'INFO');
  assert.match(end.message_id, /^[0-9a-f-]{36}$/);
  assert.match(end.timestamp, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
  assert.ok(
    listener.received.findIndex((r) => r.message === start) < listener.received.findIndex((r) => r.message === end),
  );
  assert.equal(end.payload['nova_object.name'], 'InstanceCreatePayload');
  assert.equal(end.payload['nova_object.namespace'], 'nova');
  assert.equal(end.payload['nova_object.version'], '1.13');
  const data = end.payload['nova_object.data'];
  assert.equal(data['state'], 'active');
  assert.equal(data['power_state'], 'running');
  assert.equal(data['task_state'], null);
  assert.equal(data['tenant_id'], 'p1');
  assert.equal(data['user_id'], 'u1');
  assert.equal(data['host'], 'notify-host');
  assert.equal(data['display_name'], 'notified');
  assert.equal(data['fault'], null);
  assert.match(String(data['launched_at']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const flavor = data['flavor'] as Message['payload'];
  assert.equal(flavor['nova_object.name'], 'FlavorPayload');
  assert.equal(typeof flavor['nova_object.data']['memory_mb'], 'number');
  assert.equal(start.payload['nova_object.data']['state'], 'building');

  const update = await notification('instance.update', uuid);
  const stateUpdate = (update.payload['nova_object.data']['state_update'] as Message['payload'])['nova_object.data'];
  assert.deepEqual({ old: stateUpdate['old_state'], now: stateUpdate['state'] }, { old: 'building', now: 'active' });

  // A live migration: the destination's steps, then the source's, each from its own host.
  await cloud.startComputeHost('notify-host-2');
  await liveMigrateAsApi(cloud, uuid, 'notify-host-2', true);
  for (const step of ['live_migration_pre', 'live_migration_post_dest']) {
    const stepEnd = await notification(`instance.${step}.end`, uuid);
    assert.equal(stepEnd.publisher_id, 'nova-compute:notify-host-2');
    assert.equal(stepEnd.payload['nova_object.name'], 'InstanceActionPayload');
  }
  assert.equal((await notification('instance.live_migration_post.end', uuid)).publisher_id, 'nova-compute:notify-host');
  const row = await cloud.waitFor(uuid, (i) => i.task_state === null && i.host === 'notify-host-2');
  await new ComputeRpcApi(cloud.bus.rpc).terminateInstance(adminContext(), 'notify-host-2', instancePayload(row));
  await notification('instance.delete.start', uuid);
  const deleted = await notification('instance.delete.end', uuid);
  assert.equal(deleted.payload['nova_object.name'], 'InstanceActionPayload');
  assert.equal(deleted.payload['nova_object.data']['state'], 'deleted');
  assert.match(String(deleted.payload['nova_object.data']['deleted_at']), /Z$/);
});
