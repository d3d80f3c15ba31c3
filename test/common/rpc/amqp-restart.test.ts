/**
 * A real broker restart, on a RabbitMQ of the test's own (test/helpers/private-services.ts) so that it can
 * be killed with -9 without disturbing anyone: casts the broker confirmed are still there after it comes
 * back (durable topic queues, persistent messages), a cast sent while it is away waits and goes through
 * once it is back, a call fails at once, and both sides reconnect by themselves. Then the upgrade from an
 * older release's non-durable topic queues.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, type ChannelModel } from 'amqplib';
import { Type } from 'typebox';
import { adminContext } from '../../../src/common/context.ts';
import { endpoint } from '../../../src/common/rpc/endpoint.ts';
import { MessageDeliveryFailure } from '../../../src/common/rpc/errors.ts';
import { RpcClient } from '../../../src/common/rpc/rpc-client.ts';
import { RpcServer } from '../../../src/common/rpc/rpc-server.ts';
import { createTransport } from '../../../src/common/rpc/transport-url.ts';
import type { ConnectionEvent, Transport } from '../../../src/common/rpc/transport.ts';
import { startPrivateRabbit, type PrivateServer } from '../../helpers/private-services.ts';
import { waitFor } from './rpc-contract.ts';

describe('AMQP transport across a real broker restart', () => {
  let rabbit: PrivateServer;
  const transports: Transport[] = [];
  const ctx = adminContext();

  before(async () => {
    rabbit = await startPrivateRabbit();
  });

  after(async () => {
    for (const transport of transports) await transport.close();
    await rabbit?.remove();
  });

  async function newTransport(): Promise<Transport> {
    const transport = createTransport(rabbit.url, { reconnectInitialDelayMs: 100, reconnectMaxDelayMs: 1000 });
    transports.push(transport);
    await transport.connect();
    return transport;
  }

  function watch(transport: Transport): ConnectionEvent[] {
    const events: ConnectionEvent[] = [];
    transport.onConnectionChange((event) => events.push(event));
    return events;
  }

  function recorder(topic: string, transport: Transport, seen: number[]): RpcServer {
    return new RpcServer(transport, {
      topic,
      server: 'host1',
      endpoints: {
        record: endpoint(Type.Object({ n: Type.Number() }), async (_ctx, { n }) => {
          seen.push(n);
        }),
        ping: endpoint(Type.Object({}), async () => 'pong'),
      },
    });
  }

  async function admin(): Promise<ChannelModel> {
    return connect(rabbit.url.replace(/^rabbit:/, 'amqp:'));
  }

  it('keeps confirmed casts through kill -9 of the broker and sends the ones cast while it is away', async () => {
    const topic = 'restart_casts';
    const serverTransport = await newTransport();
    const clientTransport = await newTransport();
    const serverEvents = watch(serverTransport);
    const clientEvents = watch(clientTransport);
    const seen: number[] = [];
    // Declares the durable queue, then stops consuming: the casts wait in the queue, on the broker's disk.
    const first = recorder(topic, serverTransport, seen);
    await first.start();
    await first.stop();
    const client = new RpcClient(clientTransport, { responseTimeoutMs: 5000, castWaitForBrokerMs: 60_000 });
    for (let n = 1; n <= 10; n++) await client.cast(ctx, { topic }, 'record', { n });

    await rabbit.kill();
    await waitFor('both transports to notice', () => serverEvents.length > 0 && clientEvents.length > 0, 15_000);
    let castDone = false;
    const castWhileAway = client.cast(ctx, { topic }, 'record', { n: 11 }).then(() => {
      castDone = true;
    });
    await assert.rejects(client.call(ctx, { topic }, 'ping', {}), (err: unknown) => {
      assert.ok(err instanceof MessageDeliveryFailure, `got ${String(err)}`);
      assert.match(err.message, /Not connected to RabbitMQ/);
      return true;
    });
    assert.equal(castDone, false, 'the cast returned while the broker was down');

    await rabbit.start();
    await castWhileAway;
    const restored = (events: ConnectionEvent[]): boolean => events.some((e) => e.kind === 'restored');
    await waitFor('both transports to reconnect', () => restored(serverEvents) && restored(clientEvents), 30_000);

    const second = recorder(topic, serverTransport, seen);
    await second.start();
    await waitFor('the eleven casts', () => seen.length >= 11, 15_000);
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
    );
    assert.equal(await client.call(ctx, { topic }, 'ping', {}), 'pong');
    await second.stop();
    await client.close();
  });

  it("replaces an older release's empty non-durable queue by a durable one", async () => {
    const topic = 'upgrade_empty';
    const conn = await admin();
    try {
      const ch = await conn.createChannel();
      await ch.assertQueue(topic, { durable: false, autoDelete: false });
      await ch.close();
      const transport = await newTransport();
      const seen: number[] = [];
      const server = recorder(topic, transport, seen);
      await server.start();
      const check = await conn.createChannel();
      // A passive declare with the durable flag would be refused if the queue were still non-durable.
      await check.assertQueue(topic, { durable: true, autoDelete: false });
      await check.close();
      const client = new RpcClient(transport, { responseTimeoutMs: 5000 });
      await client.cast(ctx, { topic }, 'record', { n: 1 });
      await waitFor('the cast', () => seen.includes(1));
      await server.stop();
      await client.close();
    } finally {
      await conn.close();
    }
  });

  it("consumes an older release's non-durable queue that still holds messages, as it is", async () => {
    const topic = 'upgrade_busy';
    const conn = await admin();
    try {
      const ch = await conn.createChannel();
      await ch.assertQueue(topic, { durable: false, autoDelete: false });
      // A cast an older release sent before the upgrade: it must not be lost by the new consumer.
      const { encodeRequest } = await import('../../../src/common/rpc/envelope.ts');
      ch.sendToQueue(topic, Buffer.from(encodeRequest(ctx, 'record', { n: 7 }), 'utf8'));
      const transport = await newTransport();
      const events = watch(transport);
      const seen: number[] = [];
      const server = recorder(topic, transport, seen);
      await server.start();
      await waitFor('the older release cast', () => seen.includes(7));
      assert.deepEqual(events, [], 'the refused declaration reset the connection');
      const { messageCount } = await ch.checkQueue(topic);
      assert.equal(messageCount, 0);
      await ch.close();
      await server.stop();
    } finally {
      await conn.close();
    }
  });
});
