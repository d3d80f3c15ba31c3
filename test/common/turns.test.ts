import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Turns } from '../../src/common/turns.ts';

describe('Turns', () => {
  it('runs the work of one key one after another, in arrival order', async () => {
    const turns = new Turns();
    const log: string[] = [];
    let running = 0;
    const work = (name: string, ms: number) => async () => {
      running++;
      assert.equal(running, 1, 'two works of one key ran at once');
      log.push(`start ${name}`);
      await sleep(ms);
      log.push(`end ${name}`);
      running--;
      return name;
    };
    const answers = await Promise.all([
      turns.run('p', work('a', 20)),
      turns.run('p', work('b', 1)),
      turns.run('p', work('c', 5)),
    ]);
    assert.deepEqual(answers, ['a', 'b', 'c']);
    assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    assert.equal(turns.pendingKeys, 0, 'a settled key is forgotten');
  });

  it('does not hold up other keys, and a failure passes the turn on', async () => {
    const turns = new Turns();
    const order: string[] = [];
    const slow = turns.run('p', async () => {
      await sleep(30);
      order.push('p slow');
    });
    const other = turns.run('q', async () => {
      order.push('q');
    });
    const failing = turns.run('p', async () => {
      throw new Error('refused');
    });
    const after = turns.run('p', async () => {
      order.push('p after');
      return 'ran';
    });
    await other;
    assert.deepEqual(order, ['q'], 'key q ran while key p was busy');
    await slow;
    await assert.rejects(failing, /refused/);
    assert.equal(await after, 'ran');
    assert.deepEqual(order, ['q', 'p slow', 'p after']);
  });
});
