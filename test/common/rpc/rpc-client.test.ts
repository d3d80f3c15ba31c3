/**
 * RpcClient when the connection to the broker is lost while a call's request is still being sent: the
 * caller gets the send's MessageDeliveryFailure, and the call's reply, rejected by the loss before
 * anything awaited it, is not left as an unhandled rejection (which a service logs as a crash).
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { adminContext } from '../../../src/common/context.ts';
import { MessageDeliveryFailure } from '../../../src/common/rpc/errors.ts';
import { RpcClient } from '../../../src/common/rpc/rpc-client.ts';
import type { ConnectionEvent, Transport } from '../../../src/common/rpc/transport.ts';

/** A transport whose publish loses the connection before it fails, as a broker killed mid-send does. */
function losingTransport(): Transport {
  const listeners = new Set<(event: ConnectionEvent) => void>();
  return {
    description: 'test://losing',
    connected: true,
    connect: async () => undefined,
    close: async () => undefined,
    publishNotification: async () => undefined,
    publishFanout: async () => undefined,
    consume: async () => ({ cancel: async () => undefined }),
    listenFanout: async () => ({ cancel: async () => undefined }),
    createReplyQueue: async () => ({ name: 'reply_test', cancel: async () => undefined }),
    onConnectionChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    publish: async () => {
      const error = new MessageDeliveryFailure('Lost the connection to the broker');
      for (const listener of listeners) listener({ kind: 'lost', error });
      await new Promise((r) => setImmediate(r));
      throw error;
    },
  };
}

describe('RpcClient: a connection lost while a call is sent', () => {
  it('raises the send failure and leaves no unhandled rejection behind', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const client = new RpcClient(losingTransport(), { responseTimeoutMs: 5000 });
      await assert.rejects(
        client.call(adminContext(), { topic: 'conductor' }, 'instance_update', {}),
        (err: Error) => err instanceof MessageDeliveryFailure && /Lost the connection/.test(err.message),
      );
      // Unhandled rejections are reported after the microtask queue drains.
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(unhandled, []);
      await client.close();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
