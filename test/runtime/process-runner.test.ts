/**
 * A service process asked to stop while it is still starting drains and exits with 0: here a compute
 * host that waits for a conductor no one runs, on a RabbitMQ vhost of its own. Before, the signal closed
 * the bus under the start-up, whose next call then failed, and the process exited with a start-up error.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ProcessGroup, waitUntil } from '../helpers/processes.ts';
import { createVhost } from '../helpers/rabbit-vhost.ts';

describe('stratus process: a signal during start-up', () => {
  const group = new ProcessGroup();
  let dir: string;
  let removeVhost: () => Promise<void> = async () => {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-signal-'));
    const vhost = await createVhost();
    removeVhost = vhost.remove;
    writeFileSync(
      join(dir, 'compute.conf'),
      [
        '[DEFAULT]',
        `state_path = ${dir}`,
        `transport_url = ${vhost.url}`,
        'host = lonely-host',
        'compute_driver = fake',
        'rpc_response_timeout = 1',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await group.stopAll();
    await removeVhost();
    rmSync(dir, { recursive: true, force: true });
  });

  it('drains and exits with 0 when stopped while waiting for the conductor', async () => {
    const compute = group.start('compute', 'stratus', ['--config-file', join(dir, 'compute.conf'), 'compute']);
    await waitUntil(
      'the compute waiting for the conductor',
      async () => compute.output().includes('waiting for the conductor'),
      30_000,
      () => compute.output().slice(-3000),
    );
    compute.child.kill('SIGTERM');
    assert.equal(await compute.exited, 0, compute.output().slice(-3000));
    assert.doesNotMatch(compute.output(), /error:/);
  });
});
