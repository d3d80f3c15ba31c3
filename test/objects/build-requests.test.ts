/**
 * Recording a build request of many servers: written in steps that give the event loop a turn, so one
 * request for a thousand servers does not hold every other client of the API process meanwhile.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { userContext } from '../../src/common/context.ts';
import { recordCheckedBuildRequest } from '../../src/objects/build-requests.ts';
import { createFlavor, type Flavor } from '../../src/objects/flavors.ts';
import { listInstances, type NewInstance } from '../../src/objects/instances.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { testSpec } from '../helpers/request-spec.ts';

const PROJECT = 'pppppppppppppppppppppppppppppppp';

function newInstance(flavor: Flavor, index: number): NewInstance {
  return {
    uuid: randomUUID(),
    display_name: `many-${index + 1}`,
    display_description: null,
    hostname: `many-${index + 1}`,
    user_id: 'u1',
    project_id: PROJECT,
    image_ref: 'img',
    flavor,
    availability_zone: null,
    key_name: null,
    config_drive: '',
    user_data: null,
    reservation_id: 'r-many',
    launch_index: index,
    access_ip_v4: null,
    access_ip_v6: null,
    metadata: {},
    storage_tier: 'hdd',
  };
}

for (const dialect of ['sqlite', 'mysql'] as const) {
  describe(`recordCheckedBuildRequest on ${dialect}`, () => {
    let database: TestDatabase;
    let flavor: Flavor;
    before(async () => {
      database = await openTestDatabase(dialect);
      flavor = await createFlavor(database.db, { flavorid: 'b1', name: 'b1', vcpus: 1, memory_mb: 64, root_gb: 1 });
    });
    after(() => database.close());

    it('lets the event loop turn while it writes a hundred servers, and writes them all', async () => {
      const count = 100;
      let written = 0;
      let writtenAtFirstTurn: number | null = null;
      const recording = recordCheckedBuildRequest(
        database.db,
        userContext({ userId: 'u1', projectId: PROJECT, roles: ['member'] }),
        {
          maxCount: count,
          build: (n) => ({ instances: Array.from({ length: n }, (_, i) => newInstance(flavor, i)), spec: testSpec() }),
          recordEach: async () => {
            written++;
          },
        },
      );
      // What another client's request would need: a turn of the event loop before the last row is written.
      setImmediate(() => (writtenAtFirstTurn = written));
      await recording;
      assert.equal(written, count);
      assert.ok(writtenAtFirstTurn !== null && writtenAtFirstTurn < count, `first turn after ${writtenAtFirstTurn}`);
      const rows = await listInstances(database.db, { projectId: PROJECT, limit: 1000 });
      assert.equal(rows.length, count);
    });
  });
}
