/**
 * A service started while RabbitMQ is down waits for it ([oslo_messaging_rabbit]), on a RabbitMQ of the
 * test's own: it connects once the broker is started, gives up after startup_timeout, and does not wait
 * for a broker that refuses its credentials.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/common/config/load-config.ts';
import { createTransport } from '../../src/common/rpc/transport-url.ts';
import { connectAtStartup } from '../../src/runtime/bus-startup.ts';
import { startPrivateRabbit, type PrivateServer } from '../helpers/private-services.ts';

const rabbitConfig = (url: string, startupTimeout: number) =>
  loadConfig([], {
    DEFAULT: { transport_url: url },
    oslo_messaging_rabbit: {
      rabbit_retry_interval: '1',
      rabbit_retry_backoff: '1',
      rabbit_interval_max: '2',
      startup_timeout: String(startupTimeout),
    },
  });

describe('connectAtStartup', () => {
  let rabbit: PrivateServer;
  before(async () => {
    rabbit = await startPrivateRabbit();
  });
  after(async () => {
    await rabbit?.remove();
  });

  it('waits for a broker that is down, and connects once it is started', async () => {
    await rabbit.kill();
    const config = rabbitConfig(rabbit.url, 120);
    const transport = createTransport(config.DEFAULT.transport_url);
    const waits: number[] = [];
    let started: Promise<void> | null = null;
    const connected = connectAtStartup(transport, config, async (ms) => {
      waits.push(ms);
      // After two failed attempts the broker comes back.
      if (waits.length === 2) started = rabbit.start();
      await new Promise((resolve) => setTimeout(resolve, ms));
    });
    try {
      await connected;
      assert.ok(transport.connected, 'connected once the broker was up');
      assert.deepEqual(waits.slice(0, 3), [1000, 2000, 2000].slice(0, waits.length), 'oslo.messaging schedule');
      assert.ok(waits.length >= 2, `failed attempts were waited for: ${waits.join(', ')}`);
    } finally {
      await started;
      await transport.close();
    }
  });

  it('gives up after startup_timeout with the reason', async () => {
    await rabbit.kill();
    try {
      const config = rabbitConfig(rabbit.url, 0);
      const transport = createTransport(config.DEFAULT.transport_url);
      const waits: number[] = [];
      await assert.rejects(
        connectAtStartup(transport, config, async (ms) => void waits.push(ms)),
        /Cannot connect to RabbitMQ/,
      );
      assert.deepEqual(waits, [], 'a zero timeout means one attempt');
      await transport.close();
    } finally {
      await rabbit.start();
    }
  });

  it('does not wait for a broker that refuses the credentials', async () => {
    const config = rabbitConfig(rabbit.url.replace('guest:guest@', 'guest:wrong@'), 120);
    assert.notEqual(config.DEFAULT.transport_url, rabbit.url, 'the URL carries guest:guest');
    const transport = createTransport(config.DEFAULT.transport_url);
    const waits: number[] = [];
    await assert.rejects(
      connectAtStartup(transport, config, async (ms) => void waits.push(ms)),
      /ACCESS.REFUSED/,
    );
    assert.deepEqual(waits, []);
    await transport.close();
  });
});
