/**
 * The chaos scenario (test/helpers/chaos.ts) in small: 40 servers booted and 20 deleted on a
 * multi-process cloud with a RabbitMQ and a MariaDB of its own, while the api, conductor, scheduler and
 * a compute are killed with -9 and the broker and the database are killed and restarted, during each
 * storm. Nothing may be stuck, lost, duplicated or overcommitted, no claim missing or leaked; a server in
 * ERROR must say why. `npm run bench -- chaos` is the 1,000-server run.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { runChaos } from '../helpers/chaos.ts';

describe('chaos: kills and restarts during boot and delete storms', () => {
  // todo: builds can stay BUILD/spawning (6 and 12 in two runs): deletes no longer stay in `deleting`,
  // but a build whose end could not be recorded while the broker restarted is not yet finished by anything.
  const todo = 'a build can stay BUILD/spawning when its end is recorded while the broker restarts';
  it('ends with nothing stuck, lost, duplicated or overcommitted', { timeout: 900_000, todo }, async () => {
    const log: string[] = [];
    const report = await runChaos({
      servers: 40,
      computes: 2,
      concurrency: 8,
      settleMs: 150_000,
      spawnDelayMs: 200,
      say: (msg) => log.push(msg),
    });
    const detail = `${JSON.stringify(report, null, 1)}\n${log.join('\n')}`;
    assert.equal(report.faults.length, 12, detail);
    assert.equal(report.stuck, 0, detail);
    assert.equal(report.lost, 0, detail);
    assert.equal(report.duplicated, 0, detail);
    assert.equal(report.deletedBack, 0, detail);
    assert.equal(report.overcommittedHosts, 0, detail);
    assert.equal(report.claimsMissing, 0, detail);
    assert.equal(report.claimsLeaked, 0, detail);
    assert.equal(report.active + report.error, 20, detail);
    assert.ok(!('(no fault)' in report.errorFaults), detail);
  });
});
