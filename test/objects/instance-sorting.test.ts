/**
 * Server lists sorted on any of Nova's sort keys and paged past a marker, on each engine: pages join up
 * to exactly the full sorted list (no gap, no repeat), NULLs sort as the smallest value everywhere, and
 * created_at and id break ties.
 */
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { updateInstance, listInstances, type InstanceSort } from '../../src/objects/instances.ts';
import { describeOnEachEngine } from '../helpers/database.ts';
import { insertTestInstance } from '../helpers/instance-rows.ts';

const PROJECT = 'sorting';

describeOnEachEngine('sorted server lists', (database) => {
  /** uuid -> [host, progress]: hosts with NULLs and ties, progress with ties. */
  const rows = new Map<string, [string | null, number]>();

  before(async () => {
    const db = database().db;
    const layout: [string | null, number][] = [
      ['h2', 10],
      [null, 10],
      ['h1', 30],
      ['h2', 20],
      [null, 0],
      ['h1', 30],
      ['h3', 10],
    ];
    for (const [host, progress] of layout) {
      const uuid = await insertTestInstance(db, { project: PROJECT, ...(host ? { host } : {}) });
      await updateInstance(db, uuid, { progress });
      rows.set(uuid, [host, progress]);
    }
  });

  async function pages(sort: InstanceSort[], limit: number): Promise<string[][]> {
    const result: string[][] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await listInstances(database().db, {
        projectId: PROJECT,
        limit,
        sort,
        ...(marker ? { marker } : {}),
      });
      if (!page.length) return result;
      result.push(page.map((i) => i.uuid));
      marker = page.at(-1)!.uuid;
    }
  }

  it('sorts on a nullable key with NULLs smallest, both directions, ties by created_at and id', async () => {
    const all = await listInstances(database().db, {
      projectId: PROJECT,
      limit: 100,
      sort: [{ column: 'host', direction: 'asc' }],
    });
    const hosts = all.map((i) => i.host);
    assert.deepEqual(hosts, [null, null, 'h1', 'h1', 'h2', 'h2', 'h3']);
    const desc = await listInstances(database().db, {
      projectId: PROJECT,
      limit: 100,
      sort: [{ column: 'host', direction: 'desc' }],
    });
    assert.deepEqual(
      desc.map((i) => i.host),
      ['h3', 'h2', 'h2', 'h1', 'h1', null, null],
    );
    // Ties keep created_at then id in the first key's direction: the reverse list is exactly reversed.
    assert.deepEqual(
      desc.map((i) => i.uuid),
      all.map((i) => i.uuid).reverse(),
    );
  });

  it('pages past a marker without gap or repeat, whatever the page size and sort', async () => {
    const sorts: InstanceSort[][] = [
      [{ column: 'host', direction: 'asc' }],
      [{ column: 'host', direction: 'desc' }],
      [
        { column: 'progress', direction: 'desc' },
        { column: 'host', direction: 'asc' },
      ],
      [
        { column: 'host', direction: 'desc' },
        { column: 'progress', direction: 'asc' },
      ],
    ];
    for (const sort of sorts) {
      const whole = (await listInstances(database().db, { projectId: PROJECT, limit: 100, sort })).map((i) => i.uuid);
      assert.equal(whole.length, rows.size);
      for (const limit of [1, 2, 3]) {
        assert.deepEqual((await pages(sort, limit)).flat(), whole, `${JSON.stringify(sort)} in pages of ${limit}`);
      }
    }
  });

  it('orders by the second key within ties of the first', async () => {
    const list = await listInstances(database().db, {
      projectId: PROJECT,
      limit: 100,
      sort: [
        { column: 'progress', direction: 'desc' },
        { column: 'host', direction: 'asc' },
      ],
    });
    assert.deepEqual(
      list.map((i) => [i.progress, i.host]),
      [
        [30, 'h1'],
        [30, 'h1'],
        [20, 'h2'],
        [10, null],
        [10, 'h2'],
        [10, 'h3'],
        [0, null],
      ],
    );
  });
});
