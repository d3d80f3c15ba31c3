/**
 * The chaos scenario (test/helpers/chaos.ts) in small: 40 servers booted and 20 deleted on a
 * multi-process cloud with a RabbitMQ and a MariaDB of its own, while the api, conductor, scheduler and
 * a compute are killed with -9 and the broker and the database are killed and restarted, during each
 * storm. Nothing may be lost, duplicated or overcommitted, no claim missing or leaked, and a server in
 * ERROR must say why. Nothing may be stuck either: every server left ends ACTIVE or ERROR.
 * `npm run bench -- chaos` is the 1,000-server run.
 */
import { strict as assert } from 'node:assert';
import { before, describe, it } from 'node:test';
import { runChaos, type ChaosReport } from '../helpers/chaos.ts';

describe('chaos: kills and restarts during boot and delete storms', { timeout: 900_000 }, () => {
  let report: ChaosReport;
  let detail = '';
  before(async () => {
    const log: string[] = [];
    report = await runChaos({
      servers: 40,
      computes: 2,
      concurrency: 8,
      settleMs: 150_000,
      spawnDelayMs: 200,
      say: (msg) => log.push(msg),
    });
    detail = `${JSON.stringify(report, null, 1)}\n${log.join('\n')}`;
  });

  it('loses, duplicates and overcommits nothing; every claim is held or freed as its server is', () => {
    assert.equal(report.faults.length, 12, detail);
    assert.equal(report.lost, 0, detail);
    assert.equal(report.duplicated, 0, detail);
    assert.equal(report.deletedBack, 0, detail);
    assert.equal(report.overcommittedHosts, 0, detail);
    assert.equal(report.claimsMissing, 0, detail);
    assert.equal(report.claimsLeaked, 0, detail);
    assert.ok(!('(no fault)' in report.errorFaults), detail);
  });

  it('leaves nothing stuck: every server ends ACTIVE or ERROR', () => {
    assert.equal(report.stuck, 0, detail);
    assert.equal(report.active + report.error, 20, detail);
  });
});
