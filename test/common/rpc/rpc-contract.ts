/**
 * The RPC contract, one suite run unchanged on every transport (in-process.test.ts, amqp.test.ts): what
 * the services rely on must hold on both, or all-in-one tests would prove nothing about a real cloud.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Type } from 'typebox';
import { userContext, type RequestContext } from '../../../src/common/context.ts';
import { NotFound } from '../../../src/common/errors.ts';
import { currentRequestContext } from '../../../src/common/log/logger.ts';
import { endpoint, type RpcEndpoints } from '../../../src/common/rpc/endpoint.ts';
import {
  InvalidRpcArguments,
  MessageDeliveryFailure,
  MessagingTimeout,
  RemoteError,
  UnsupportedRpcMethod,
} from '../../../src/common/rpc/errors.ts';
import { RpcClient } from '../../../src/common/rpc/rpc-client.ts';
import { RpcServer } from '../../../src/common/rpc/rpc-server.ts';
import type { Transport } from '../../../src/common/rpc/transport.ts';

export interface ContractTransport {
  name: string;
  /** A new, connected transport; every transport one suite creates must reach the others. */
  newTransport(): Promise<Transport>;
  /** Called last, with the queues and fanout topics the suite used, to remove them from the broker. */
  cleanup?(used: { queues: string[]; topics: string[] }): Promise<void>;
}

/** Polls until `predicate` holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(what: string, predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A promise with its resolve function outside, to hold a handler until the test lets it go. */
function gate(): { promise: Promise<void>; open(): void } {
  let open = (): void => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const ctx = userContext({ userId: 'u-1', projectId: 'p-1', roles: ['member', 'reader'] });

export function rpcContract(target: ContractTransport): void {
  describe(`RPC contract on the ${target.name} transport`, () => {
    // Unique per run, so parallel runs against one broker do not see each other's messages.
    const prefix = `rpctest_${process.pid}_${randomBytes(3).toString('hex')}`;
    let topics = 0;
    const used = { queues: [] as string[], topics: [] as string[] };
    const transports: Transport[] = [];
    const servers: RpcServer[] = [];
    const clients: RpcClient[] = [];

    after(async () => {
      for (const server of servers) await server.stop();
      for (const client of clients) await client.close();
      for (const transport of transports) await transport.close();
      await target.cleanup?.(used);
    });

    async function newTransport(): Promise<Transport> {
      const transport = await target.newTransport();
      transports.push(transport);
      return transport;
    }

    /** What every test server records, to check who handled what. */
    interface Seen {
      server: string;
      method: string;
      value: number;
      ctx: RequestContext | undefined;
    }

    function endpoints(server: string, seen: Seen[], hold: Promise<void>): RpcEndpoints {
      return {
        echo: endpoint(Type.Object({ text: Type.String() }), async (_ctx, args) => ({ text: args.text, server })),
        record: endpoint(Type.Object({ value: Type.Number() }), async (_ctx, args) => {
          seen.push({ server, method: 'record', value: args.value, ctx: currentRequestContext() });
        }),
        whoami: endpoint(Type.Object({}), async (handlerCtx) => ({
          handlerCtx,
          logCtx: currentRequestContext(),
        })),
        notFound: endpoint(Type.Object({}), async () => {
          throw new NotFound('Flavor 42 could not be found.');
        }),
        typeError: endpoint(Type.Object({}), async () => {
          throw new TypeError('boom');
        }),
        sleep: endpoint(Type.Object({ ms: Type.Number() }), async (_ctx, args) => {
          await new Promise((resolve) => setTimeout(resolve, args.ms));
          seen.push({ server, method: 'slept', value: args.ms, ctx: undefined });
          return 'slept';
        }),
        hold: endpoint(Type.Object({ value: Type.Number() }), async (_ctx, args) => {
          seen.push({ server, method: 'hold', value: args.value, ctx: undefined });
          await hold;
          seen.push({ server, method: 'held', value: args.value, ctx: undefined });
        }),
      };
    }

    /** A topic with one server per name, each on its own transport, and a client on another. */
    async function setup(names: string[], opts: { concurrency?: number } = {}) {
      const topic = `${prefix}_${++topics}`;
      used.topics.push(topic);
      used.queues.push(topic, ...names.map((name) => `${topic}.${name}`));
      const seen: Seen[] = [];
      const release = gate();
      const byName = new Map<string, RpcServer>();
      for (const name of names) {
        const server = new RpcServer(await newTransport(), {
          topic,
          server: name,
          endpoints: endpoints(name, seen, release.promise),
          ...opts,
        });
        await server.start();
        servers.push(server);
        byName.set(name, server);
      }
      const clientTransport = await newTransport();
      const client = new RpcClient(clientTransport, { responseTimeoutMs: 5000 });
      clients.push(client);
      return { topic, seen, release, client, clientTransport, servers: byName };
    }

    it('cast delivers to one server of the topic', async () => {
      const { topic, seen, client } = await setup(['a']);
      await client.cast(ctx, { topic }, 'record', { value: 7 });
      await waitFor('the cast', () => seen.length === 1);
      assert.equal(seen[0]?.value, 7);
    });

    it('call returns the handler result', async () => {
      const { topic, client } = await setup(['a']);
      const result = await client.call<{ text: string; server: string }>(ctx, { topic }, 'echo', { text: 'hello' });
      assert.deepEqual(result, { text: 'hello', server: 'a' });
    });

    it('fanout reaches every server of the topic', async () => {
      const { topic, seen, client } = await setup(['a', 'b', 'c']);
      await client.fanout(ctx, topic, 'record', { value: 1 });
      await waitFor('three copies', () => seen.length === 3);
      assert.deepEqual(seen.map((s) => s.server).sort(), ['a', 'b', 'c']);
    });

    it('servers of a shared topic compete: each message to one, both get some', async () => {
      const { topic, client } = await setup(['a', 'b']);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          client.call<{ server: string }>(ctx, { topic }, 'echo', { text: String(i) }),
        ),
      );
      const counts = new Map<string, number>();
      for (const r of results) counts.set(r.server, (counts.get(r.server) ?? 0) + 1);
      assert.ok(
        (counts.get('a') ?? 0) > 0 && (counts.get('b') ?? 0) > 0,
        `both should get some: ${JSON.stringify([...counts])}`,
      );
    });

    it('a target with a server reaches that server only', async () => {
      const { topic, client } = await setup(['a', 'b']);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          client.call<{ server: string }>(ctx, { topic, server: 'b' }, 'echo', { text: String(i) }),
        ),
      );
      assert.deepEqual(new Set(results.map((r) => r.server)), new Set(['b']));
    });

    it('the caller context reaches the handler and its log context', async () => {
      const { topic, seen, client } = await setup(['a']);
      const wire = {
        requestId: ctx.requestId,
        userId: 'u-1',
        projectId: 'p-1',
        roles: ['member', 'reader'],
        isAdmin: false,
      };
      const result = await client.call<{ handlerCtx: RequestContext; logCtx: RequestContext }>(
        ctx,
        { topic },
        'whoami',
        {},
      );
      assert.deepEqual(result.handlerCtx, wire);
      assert.deepEqual(result.logCtx, wire);
      await client.cast(ctx, { topic }, 'record', { value: 1 });
      await waitFor('the cast', () => seen.length === 1);
      assert.equal(seen[0]?.ctx?.requestId, ctx.requestId);
    });

    it('a declared error is re-raised as the same class with the remote trace', async () => {
      const { topic, client } = await setup(['a']);
      const err: unknown = await client.call(ctx, { topic }, 'notFound', {}).then(
        () => assert.fail('should have failed'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof NotFound, `got ${String(err)}`);
      assert.equal(err.message, 'Flavor 42 could not be found.');
      assert.equal(err.status, 404);
      assert.match(err.remoteTrace ?? '', /NotFound: Flavor 42/);
    });

    it('an undeclared error arrives as RemoteError with class, message and trace', async () => {
      const { topic, client } = await setup(['a']);
      const err: unknown = await client.call(ctx, { topic }, 'typeError', {}).then(
        () => assert.fail('should have failed'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof RemoteError, `got ${String(err)}`);
      assert.equal(err.excType, 'TypeError');
      assert.equal(err.value, 'boom');
      assert.equal(err.message, 'Remote error: TypeError boom');
      assert.match(err.traceback, /TypeError: boom\n\s+at /);
    });

    it('a call without a reply in time fails with MessagingTimeout naming target, method and time', async () => {
      const { topic, client, seen } = await setup(['a']);
      // The handler sleeps ten times the timeout: the call must fail before it ends, however loaded the machine.
      await assert.rejects(
        client.call(ctx, { topic, server: 'a' }, 'sleep', { ms: 3000 }, { timeoutMs: 300 }),
        (err: unknown) => {
          assert.ok(err instanceof MessagingTimeout, `got ${String(err)}`);
          assert.match(err.message, new RegExp(`'sleep' on '${topic}\\.a'`));
          assert.match(err.message, /0\.3 s/);
          return true;
        },
      );
      assert.ok(!seen.some((s) => s.method === 'slept'), 'should not wait for the handler');
      // The late reply is dropped quietly and the client goes on working.
      await waitFor('the handler to end', () => seen.some((s) => s.method === 'slept'), 15_000);
      assert.equal((await client.call<{ text: string }>(ctx, { topic }, 'echo', { text: 'x' })).text, 'x');
    });

    it('a call to a queue nobody declared fails fast with MessageDeliveryFailure', async () => {
      const { topic, client } = await setup(['a']);
      // MessageDeliveryFailure, not MessagingTimeout: the broker's refusal is what ends the call, at once.
      await assert.rejects(client.call(ctx, { topic, server: 'nosuchhost' }, 'echo', { text: 'x' }), (err: unknown) => {
        assert.ok(err instanceof MessageDeliveryFailure, `got ${String(err)}`);
        assert.match(err.message, new RegExp(`${topic}\\.nosuchhost`));
        return true;
      });
      await assert.rejects(
        client.cast(ctx, { topic: `${topic}_nobody` }, 'echo', { text: 'x' }),
        MessageDeliveryFailure,
      );
    });

    it('an unknown method is answered with UnsupportedRpcMethod, and a cast of one is survived', async () => {
      const { topic, client } = await setup(['a']);
      await assert.rejects(client.call(ctx, { topic }, 'noSuchMethod', {}), (err: unknown) => {
        assert.ok(err instanceof UnsupportedRpcMethod, `got ${String(err)}`);
        assert.match(err.message, /noSuchMethod/);
        return true;
      });
      await assert.rejects(client.call(ctx, { topic }, 'constructor', {}), UnsupportedRpcMethod);
      await client.cast(ctx, { topic }, 'noSuchMethod', {});
      assert.equal(
        (await client.call<{ text: string }>(ctx, { topic }, 'echo', { text: 'still here' })).text,
        'still here',
      );
    });

    it('bad args are answered with InvalidRpcArguments; malformed messages are dropped; the server keeps working', async () => {
      const { topic, client, clientTransport } = await setup(['a']);
      await assert.rejects(client.call(ctx, { topic }, 'echo', { text: 42 }), (err: unknown) => {
        assert.ok(err instanceof InvalidRpcArguments, `got ${String(err)}`);
        assert.match(err.message, /echo/);
        assert.match(err.message, /\/text/);
        return true;
      });
      await client.cast(ctx, { topic }, 'echo', {});
      await clientTransport.publish(topic, 'this is {not json');
      await clientTransport.publish(topic, JSON.stringify({ version: '1.0', method: 'echo' }));
      await clientTransport.publish(topic, JSON.stringify({ version: '9.0', method: 'echo', args: {}, context: ctx }));
      assert.equal((await client.call<{ text: string }>(ctx, { topic }, 'echo', { text: 'ok' })).text, 'ok');
    });

    it('at most `concurrency` handlers run at once', async () => {
      const { topic, seen, release, servers, client } = await setup(['a'], { concurrency: 2 });
      for (let i = 0; i < 5; i++) await client.cast(ctx, { topic }, 'hold', { value: i });
      await waitFor('two handlers to start', () => seen.length === 2);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(seen.length, 2, 'a third handler started while two were running');
      release.open();
      await waitFor('all five', () => seen.filter((s) => s.method === 'held').length === 5);
      await servers.get('a')?.stop();
    });

    it('stop() stops consuming and waits for handlers in flight', async () => {
      const { topic, seen, release, servers, client } = await setup(['a']);
      await client.cast(ctx, { topic }, 'hold', { value: 1 });
      await waitFor('the handler to start', () => seen.length === 1);
      let stopped = false;
      const stopping = servers
        .get('a')
        ?.stop()
        .then(() => {
          stopped = true;
        });
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(stopped, false, 'stop() returned while a handler was running');
      release.open();
      await stopping;
      assert.deepEqual(
        seen.map((s) => s.method),
        ['hold', 'held'],
      );
      // Stopped: a new message stays queued for the next server instead of being handled here.
      await client.cast(ctx, { topic }, 'record', { value: 2 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(seen.length, 2);
    });

    it('closing the transport under a client fails its calls in flight at once', async () => {
      const { topic, client, clientTransport, seen } = await setup(['a']);
      const pending = client.call(ctx, { topic }, 'sleep', { ms: 3000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const failed = assert.rejects(pending, MessageDeliveryFailure);
      await clientTransport.close();
      await failed;
      assert.ok(!seen.some((s) => s.method === 'slept'), 'the call should fail at once, not when the handler ends');
    });
  });
}
