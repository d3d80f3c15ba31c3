/**
 * The RPC contract on RabbitMQ, plus what only a real broker can show: an unreachable broker, and a broker
 * "restart". The restart is simulated by having the broker force-close this test's own connections
 * (`rabbitmqctl close_connection`, picked by connection name) and deleting its queues, as a restart of a
 * broker with non-durable queues would; RabbitMQ itself keeps running for everyone else's tests.
 *
 * Needs RabbitMQ at STRATUS_TEST_RABBIT_URL (default rabbit://guest:guest@127.0.0.1:5672/): the tests
 * fail, not skip, when it is not there, and the failure says how to start it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { connect, type ChannelModel } from 'amqplib';
import { Type } from 'typebox';
import { adminContext } from '../../../src/common/context.ts';
import { ServiceUnavailable } from '../../../src/common/errors.ts';
import { endpoint } from '../../../src/common/rpc/endpoint.ts';
import { MessageDeliveryFailure } from '../../../src/common/rpc/errors.ts';
import { RpcClient } from '../../../src/common/rpc/rpc-client.ts';
import { RpcServer } from '../../../src/common/rpc/rpc-server.ts';
import { createTransport, parseTransportUrl } from '../../../src/common/rpc/transport-url.ts';
import type { ConnectionEvent, Transport } from '../../../src/common/rpc/transport.ts';
import { rpcContract, waitFor } from './rpc-contract.ts';

const URL = process.env['STRATUS_TEST_RABBIT_URL'] ?? 'rabbit://guest:guest@127.0.0.1:5672/';
const run = `${process.pid}_${randomBytes(3).toString('hex')}`;
const exec = promisify(execFile);

/** A plain amqplib connection for the test's own housekeeping (deleting queues), outside the transports. */
async function adminConnection(): Promise<ChannelModel> {
  const parsed = parseTransportUrl(URL);
  assert.equal(parsed.kind, 'amqp');
  const host = parsed.hosts[0];
  assert.ok(host);
  return connect(
    {
      protocol: 'amqp',
      hostname: host.host,
      port: host.port,
      username: host.username,
      password: host.password,
      vhost: parsed.vhost,
    },
    { clientProperties: { connection_name: `stratus-test-admin-${run}` } },
  ).catch((err: unknown) => {
    throw new Error(
      `RabbitMQ at ${host.host}:${host.port}: ${String(err)}; start it with \`rabbitmq-server -detached\``,
    );
  });
}

async function deleteAll(used: { queues: string[]; topics: string[] }): Promise<void> {
  const admin = await adminConnection();
  try {
    const ch = await admin.createChannel();
    for (const queue of used.queues) await ch.deleteQueue(queue);
    for (const topic of used.topics) await ch.deleteExchange(`${topic}_fanout`);
    await ch.close();
  } finally {
    await admin.close();
  }
}

rpcContract({
  name: 'AMQP',
  async newTransport() {
    const transport = createTransport(URL, { connectionName: `stratus-test-contract-${run}` });
    await transport.connect();
    return transport;
  },
  cleanup: deleteAll,
});

describe('AMQP transport on its own', () => {
  it('connect() to an unreachable broker names it and says how to start RabbitMQ', async () => {
    const transport = createTransport('rabbit://guest:secret@127.0.0.1:1/', { connectTimeoutMs: 2000 });
    await assert.rejects(transport.connect(), (err: unknown) => {
      assert.ok(err instanceof ServiceUnavailable, `got ${String(err)}`);
      assert.match(err.message, /127\.0\.0\.1:1\b/);
      assert.match(err.message, /rabbitmq-server -detached/);
      assert.doesNotMatch(err.message, /secret/);
      return true;
    });
    await transport.close();
  });

  it('falls back to the next broker of a comma-separated URL', async () => {
    const parsed = parseTransportUrl(URL);
    assert.equal(parsed.kind, 'amqp');
    const good = parsed.hosts[0];
    assert.ok(good);
    const transport = createTransport(
      `rabbit://guest:guest@127.0.0.1:1,${good.username}:${good.password}@${good.host}:${good.port}/`,
      { connectionName: `stratus-test-fallback-${run}` },
    );
    await transport.connect();
    await transport.close();
  });

  describe('broker restart', () => {
    const topic = `rpctest_restart_${run}`;
    const connectionName = `stratus-test-restart-${run}`;
    const transports: Transport[] = [];
    let release = (): void => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const started: string[] = [];

    after(async () => {
      release();
      for (const transport of transports) await transport.close();
      await deleteAll({ queues: [topic, `${topic}.host1`], topics: [topic] });
    });

    /** Each transport's connection events, to wait for `lost` and `restored`. */
    function watch(transport: Transport): ConnectionEvent[] {
      const events: ConnectionEvent[] = [];
      transport.onConnectionChange((event) => events.push(event));
      return events;
    }

    async function forceCloseOurConnections(): Promise<number> {
      const { stdout } = await exec('rabbitmqctl', [
        'list_connections',
        '-q',
        '--no-table-headers',
        'pid',
        'client_properties',
      ]);
      const ours = stdout
        .split('\n')
        .filter((line) => line.includes(`"${connectionName}"`))
        .map((line) => line.split('\t')[0] ?? '');
      // Together, as a restart would, and so the queues can be deleted before either reconnects.
      await Promise.all(
        ours.map((pid) => exec('rabbitmqctl', ['close_connection', pid, 'test: simulated broker restart'])),
      );
      return ours.length;
    }

    it('fails the call in flight at once, refuses calls while down, then reconnects and re-declares', async () => {
      const newTransport = async (): Promise<Transport> => {
        // A reconnect delay long enough for the test to delete the queues first, as a restart would.
        const transport = createTransport(URL, { connectionName, reconnectInitialDelayMs: 2500 });
        transports.push(transport);
        await transport.connect();
        return transport;
      };
      const serverTransport = await newTransport();
      const clientTransport = await newTransport();
      const serverEvents = watch(serverTransport);
      const clientEvents = watch(clientTransport);
      const server = new RpcServer(serverTransport, {
        topic,
        server: 'host1',
        endpoints: {
          hold: endpoint(Type.Object({}), async () => {
            started.push('hold');
            await held;
          }),
          ping: endpoint(Type.Object({ n: Type.Number() }), async (_ctx, { n }) => n + 1),
          record: endpoint(Type.Object({ n: Type.Number() }), async (_ctx, { n }) => {
            started.push(`record ${n}`);
          }),
        },
      });
      await server.start();
      const client = new RpcClient(clientTransport, { responseTimeoutMs: 30_000 });
      const ctx = adminContext();
      assert.equal(await client.call(ctx, { topic }, 'ping', { n: 1 }), 2);

      const inFlight = client.call(ctx, { topic, server: 'host1' }, 'hold', {});
      let failedAt = 0;
      // Watched from now on, to time the failure from the cut rather than from when the test awaits it.
      const failure = inFlight.finally(() => {
        failedAt = Date.now();
      });
      failure.catch(() => {});
      await waitFor('the handler to start', () => started.includes('hold'));
      const cut = Date.now();
      assert.equal(await forceCloseOurConnections(), 2, 'expected the server and client connections');

      await assert.rejects(failure, (err: unknown) => {
        assert.ok(err instanceof MessageDeliveryFailure, `got ${String(err)}`);
        assert.match(err.message, /Lost the connection to RabbitMQ at \S+:\d+/);
        assert.match(err.message, /CONNECTION_FORCED/);
        assert.match(err.message, /'hold' on/);
        return true;
      });
      // rabbitmqctl itself takes seconds to start on a loaded machine, so the bound is loose: what it rules out is
      // the call hanging until its 30 s response timeout (which would also have raised MessagingTimeout).
      assert.ok(failedAt - cut < 15_000, `the call took ${failedAt - cut} ms to fail after the connections were cut`);

      await waitFor('both transports to notice', () => serverEvents.length > 0 && clientEvents.length > 0);
      // A call fails fast while the broker is away (a cast would wait for it: amqp-restart.test.ts).
      await assert.rejects(client.call(ctx, { topic }, 'ping', { n: 0 }), (err: unknown) => {
        assert.ok(err instanceof MessageDeliveryFailure, `got ${String(err)}`);
        assert.match(err.message, /Not connected to RabbitMQ .* re-established/);
        return true;
      });
      // What a restart of the broker does to non-durable queues.
      await deleteAll({ queues: [topic, `${topic}.host1`], topics: [topic] });
      const restored = (events: ConnectionEvent[]): boolean => events.some((e) => e.kind === 'restored');
      assert.ok(
        !restored(serverEvents) && !restored(clientEvents),
        'reconnected before the queues were deleted: the test proves nothing',
      );

      await waitFor('both transports to reconnect', () => restored(serverEvents) && restored(clientEvents), 15_000);

      // The queues are back (a call to a missing queue would fail at once) and consumers re-attached.
      assert.equal(await client.call(ctx, { topic }, 'ping', { n: 41 }), 42);
      assert.equal(await client.call(ctx, { topic, server: 'host1' }, 'ping', { n: 1 }), 2);
      await client.cast(ctx, { topic }, 'record', { n: 1 });
      await waitFor('the cast after reconnecting', () => started.includes('record 1'));

      release();
      await server.stop();
      await client.close();
    });
  });
});
