/** POST /servers: what is recorded and cast, and bad requests that must change nothing. */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createFlavor } from '../../../src/objects/flavors.ts';
import { listActions } from '../../../src/objects/instance-actions.ts';
import { latestFaults } from '../../../src/objects/instance-faults.ts';
import { instancePayload } from '../../../src/objects/instance-payload.ts';
import { getInstance, listInstances } from '../../../src/objects/instances.ts';
import { getRequestSpec } from '../../../src/objects/request-specs.ts';
import { addComputeHost, client, countRows, fault, PROJECT_A, startComputeApi, type Harness } from './helpers.ts';

let h: Harness;
before(async () => {
  h = await startComputeApi();
  await addComputeHost(h, 'host1');
});
after(async () => {
  await h.close();
});
beforeEach(() => {
  h.transport.casts.length = 0;
  h.transport.refuse = null;
});

const body = (server: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  server: { name: 'web', imageRef: h.cirros.id, flavorRef: '1', ...server },
  ...extra,
});

describe('POST /servers', () => {
  it('records one server, its request spec and create action, casts the build and answers 202', async () => {
    const res = await client(h.app, 'alice').post(
      '/v2.1/servers',
      body({ metadata: { role: 'web' } }, { 'os:scheduler_hints': { group_name: 'x' } }),
    );
    assert.equal(res.statusCode, 202);
    const server = res.json().server;
    assert.match(server.id, /^[0-9a-f-]{36}$/);
    assert.equal(server['OS-DCF:diskConfig'], 'MANUAL');
    assert.deepEqual(server.security_groups, [{ name: 'default' }]);
    assert.equal(typeof server.adminPass, 'string');
    assert.equal(server.links[0].href, `http://localhost:80/v2.1/servers/${server.id}`);
    assert.equal(server.links[1].href, `http://localhost:80/servers/${server.id}`);
    assert.equal(res.headers['location'], server.links[0].href);

    const instance = await getInstance(h.database.db, server.id);
    assert.equal(instance.vm_state, 'building');
    assert.equal(instance.task_state, 'scheduling');
    assert.equal(instance.project_id, PROJECT_A);
    assert.equal(instance.user_id, 'alice');
    assert.equal(instance.hostname, 'web');
    assert.equal(instance.display_description, 'web', 'before 2.19 the description is the name, as in Nova');
    assert.deepEqual(instance.metadata, { role: 'web' });
    const spec = await getRequestSpec(h.database.db, server.id);
    assert.equal(spec.flavor.flavorid, '1');
    assert.equal(spec.image.id, h.cirros.id);
    assert.deepEqual(spec.ignore_hosts, []);
    assert.deepEqual(spec.scheduler_hints, { group_name: 'x' });
    const actions = await listActions(h.database.db, server.id);
    assert.deepEqual(
      actions.map((a) => a.action),
      ['create'],
    );

    assert.equal(h.transport.casts.length, 1);
    const cast = h.transport.casts[0]!;
    assert.equal(cast.method, 'build_instances');
    assert.deepEqual(cast.args['instance_uuids'], [server.id]);
    assert.deepEqual(cast.args['request_spec'], spec, 'the cast carries the recorded spec');
    assert.deepEqual(
      cast.args['instances'],
      [instancePayload(instance)],
      'and the instance as recorded, so the conductor need not read it back',
    );
    assert.equal(cast.context.projectId, PROJECT_A);
    assert.equal(cast.context.requestId, res.headers['x-openstack-request-id']);
  });

  it('stores the scheduler hints the filters read: instance lists, a JsonFilter query, custom hints', async () => {
    const other = '6e8a1b1c-5f3c-4f0e-9a57-0c9a3c5e2b11';
    const query = '["and", [">=", "$free_ram_mb", 1024], ["in", "$hypervisor_type", "fake", "qemu"]]';
    const res = await client(h.app, 'alice').post(
      '/v2.1/servers',
      body({}, { 'os:scheduler_hints': { same_host: [other], different_host: other, query, rack: 'r1' } }),
    );
    assert.equal(res.statusCode, 202, res.body);
    const spec = await getRequestSpec(h.database.db, res.json().server.id);
    assert.deepEqual(spec.scheduler_hints, { same_host: [other], different_host: other, query, rack: 'r1' });
  });

  it('creates min_count servers in one request, named name-1..name-N, built by one cast', async () => {
    const res = await client(h.app, 'alice').post('/v2.1/servers', body({ name: 'batch', min_count: 10 }, {}));
    assert.equal(res.statusCode, 202);
    const uuids = h.transport.casts[0]!.args['instance_uuids'] as string[];
    assert.equal(uuids.length, 10);
    assert.equal(uuids[0], res.json().server.id);
    const instances = await Promise.all(uuids.map((u) => getInstance(h.database.db, u)));
    assert.deepEqual(
      instances.map((i) => i.display_name),
      Array.from({ length: 10 }, (_, i) => `batch-${i + 1}`),
    );
    assert.deepEqual(
      instances.map((i) => i.launch_index),
      [...Array(10).keys()],
    );
    assert.equal(new Set(instances.map((i) => i.reservation_id)).size, 1);
    assert.equal((await getRequestSpec(h.database.db, uuids[0]!)).num_instances, 10);
  });

  it('creates max_count servers and answers with the reservation id when asked', async () => {
    const res = await client(h.app, 'alice').post(
      '/v2.1/servers',
      body({ name: 'r', max_count: '3', return_reservation_id: 'True' }),
    );
    assert.equal(res.statusCode, 202);
    const { reservation_id } = res.json();
    assert.match(reservation_id, /^r-[a-z0-9_-]{8}$/);
    assert.equal(
      (
        await listInstances(h.database.db, {
          projectId: PROJECT_A,
          regex: { reservation_id: `^${reservation_id}$` },
          limit: 10,
        })
      ).length,
      3,
    );
  });

  it('takes a flavor URL as flavorRef and stores the 2.19 description', async () => {
    const res = await client(h.app, 'alice', '2.19').post(
      '/v2.1/servers',
      body({ flavorRef: 'http://x/v2.1/flavors/1', description: 'front end' }),
    );
    assert.equal(res.statusCode, 202);
    assert.equal((await getInstance(h.database.db, res.json().server.id)).display_description, 'front end');
  });

  it('requires networks from 2.37 (servers-networks.test.ts covers what each value does)', async () => {
    const missing = await client(h.app, 'alice', '2.37').post('/v2.1/servers', body({}));
    assert.equal(missing.statusCode, 400);
    assert.match(fault(missing).message, /'networks' is a required property/);
    const none = await client(h.app, 'alice', '2.37').post('/v2.1/servers', body({ networks: 'none' }));
    assert.equal(none.statusCode, 202);
    const badEnum = await client(h.app, 'alice', '2.37').post('/v2.1/servers', body({ networks: 'some' }));
    assert.equal(badEnum.statusCode, 400);
  });

  it('puts the servers in ERROR with a fault when the build cannot be cast', async () => {
    h.transport.refuse = new Error('broker unreachable');
    const res = await client(h.app, 'alice').post('/v2.1/servers', body({ name: 'orphan' }));
    assert.equal(res.statusCode, 202);
    const instance = await getInstance(h.database.db, res.json().server.id);
    assert.equal(instance.vm_state, 'error');
    assert.equal(instance.task_state, null);
    const faultRow = (await latestFaults(h.database.db, [instance.uuid])).get(instance.uuid);
    assert.match(faultRow!.message, /broker unreachable/);
  });
});

describe('POST /servers refuses bad input and creates nothing', () => {
  type Refusal = [string, () => Promise<{ statusCode: number; json(): unknown }>, number, RegExp];
  const refused: Refusal[] = [
    [
      'an unknown flavor',
      () => client(h.app, 'alice').post('/v2.1/servers', body({ flavorRef: '999' })),
      400,
      /^Flavor 999 could not be found\.$/,
    ],
    ...(
      [
        ['same_host', 'not-a-uuid', /same_host/],
        ['same_host', ['6e8a1b1c-5f3c-4f0e-9a57-0c9a3c5e2b11', 'nope'], /same_host/],
        ['different_host', 'nope', /different_host/],
        ['different_host', [42], /different_host/],
        ['query', 42, /query/],
        ['query', '[">=", "$free_ram_mb", 1024', /query.*not valid JSON/],
        ['query', '["like", "$host", "a"]', /query.*must be a JSON list starting with one of/],
        ['query', '{"and": []}', /query.*must be a JSON list/],
      ] as [string, unknown, RegExp][]
    ).map(
      ([hint, value, message]) =>
        [
          `a ${hint} hint of ${JSON.stringify(value)}`,
          () => client(h.app, 'alice').post('/v2.1/servers', body({}, { 'os:scheduler_hints': { [hint]: value } })),
          400,
          message,
        ] as Refusal,
    ),
    [
      'an unknown image',
      () => client(h.app, 'alice').post('/v2.1/servers', body({ imageRef: '00000000-0000-4000-8000-000000000000' })),
      400,
      /^Can not find requested image$/,
    ],
    [
      'an image id that is no UUID',
      () => client(h.app, 'alice').post('/v2.1/servers', body({ imageRef: 'cirros' })),
      400,
      /server\.imageRef/,
    ],
    [
      'a missing imageRef',
      () => client(h.app, 'alice').post('/v2.1/servers', { server: { name: 'x', flavorRef: '1' } }),
      400,
      /^Missing imageRef attribute$/,
    ],
    [
      'a missing name',
      () => client(h.app, 'alice').post('/v2.1/servers', { server: { imageRef: h.cirros.id, flavorRef: '1' } }),
      400,
      /'name' is a required property/,
    ],
    [
      'an over-long name',
      () => client(h.app, 'alice').post('/v2.1/servers', body({ name: 'x'.repeat(256) })),
      400,
      /server\.name.*more than 255 characters/,
    ],
    [
      'a name with leading spaces',
      () => client(h.app, 'alice').post('/v2.1/servers', body({ name: '  web' })),
      400,
      /server\.name/,
    ],
    [
      'an unknown field',
      () => client(h.app, 'alice').post('/v2.1/servers', body({ colour: 'red' })),
      400,
      /'colour' was unexpected/,
    ],
    [
      'an unknown top-level field',
      () => client(h.app, 'alice').post('/v2.1/servers', body({}, { extra: 1 })),
      400,
      /'extra' was unexpected/,
    ],
    ['a wrong-typed name', () => client(h.app, 'alice').post('/v2.1/servers', body({ name: 42 })), 400, /server\.name/],
    [
      'a min_count that is no number',
      () => client(h.app, 'alice').post('/v2.1/servers', body({ min_count: 'ten' })),
      400,
      /server\.min_count/,
    ],
    [
      'min_count above max_count',
      () => client(h.app, 'alice').post('/v2.1/servers', body({ min_count: 3, max_count: 2 })),
      400,
      /^min_count must be <= max_count$/,
    ],
    [
      'a zero min_count',
      () => client(h.app, 'alice').post('/v2.1/servers', body({ min_count: 0 })),
      400,
      /server\.min_count/,
    ],
    [
      'metadata with a long value',
      () => client(h.app, 'alice').post('/v2.1/servers', body({ metadata: { k: 'v'.repeat(256) } })),
      400,
      /metadata/,
    ],
    [
      'user_data that is not base64',
      () => client(h.app, 'alice').post('/v2.1/servers', body({ user_data: 'not base64!' })),
      400,
      /user_data.*base64/,
    ],
    [
      'a description before 2.19',
      () => client(h.app, 'alice').post('/v2.1/servers', body({ description: 'd' })),
      400,
      /'description' was unexpected/,
    ],
    [
      'an unknown availability zone',
      () => client(h.app, 'alice').post('/v2.1/servers', body({ availability_zone: 'mars' })),
      400,
      /^The requested availability zone is not available$/,
    ],
    [
      'block device mappings',
      () => client(h.app, 'alice').post('/v2.1/servers', body({ block_device_mapping_v2: [] })),
      400,
      /'block_device_mapping_v2' was unexpected/,
    ],
    [
      'a body that is no JSON',
      () => client(h.app, 'alice').post('/v2.1/servers', '{"server": '),
      400,
      /Malformed request body/,
    ],
    ['no body', () => client(h.app, 'alice').post('/v2.1/servers'), 400, /body/],
    ['no token', () => client(h.app, 'nobody').post('/v2.1/servers', body({})), 401, /requires authentication/],
  ];
  for (const [what, send, status, message] of refused) {
    it(`refuses ${what}`, async () => {
      const before = await countRows(h, 'instances');
      const casts = h.transport.casts.length;
      const res = await send();
      assert.equal(res.statusCode, status, JSON.stringify(res.json()));
      assert.match(fault(res as never).message, message);
      assert.equal(await countRows(h, 'instances'), before);
      assert.equal(h.transport.casts.length, casts);
    });
  }

  it("refuses another project's private flavor as unknown, and the image's needs beyond the flavor", async () => {
    await createFlavor(h.database.db, {
      flavorid: 'private',
      name: 'private',
      memory_mb: 512,
      vcpus: 1,
      root_gb: 1,
      is_public: false,
    });
    const before = await countRows(h, 'instances');
    const res = await client(h.app, 'bob').post('/v2.1/servers', body({ flavorRef: 'private' }));
    assert.equal(res.statusCode, 400);
    assert.equal(fault(res).message, 'Flavor private could not be found.');

    const big = h.images.add({ min_ram: 4096 });
    const tooSmall = await client(h.app, 'alice').post('/v2.1/servers', body({ imageRef: big.id }));
    assert.equal(tooSmall.statusCode, 400);
    assert.equal(fault(tooSmall).message, "Flavor's memory is too small for requested image.");

    const fat = h.images.add({ min_disk: 20 });
    const diskTooSmall = await client(h.app, 'alice').post('/v2.1/servers', body({ imageRef: fat.id }));
    assert.equal(diskTooSmall.statusCode, 400);
    assert.match(fault(diskTooSmall).message, /Flavor disk is 1073741824 bytes, minimum size is 21474836480 bytes/);

    const queued = h.images.add({ status: 'queued' });
    const inactive = await client(h.app, 'alice').post('/v2.1/servers', body({ imageRef: queued.id }));
    assert.equal(inactive.statusCode, 400);
    assert.equal(fault(inactive).message, `Image ${queued.id} is not active.`);

    const theirs = h.images.add({ owner: 'someone-else' });
    const invisible = await client(h.app, 'alice').post('/v2.1/servers', body({ imageRef: theirs.id }));
    assert.equal(invisible.statusCode, 400);
    assert.equal(await countRows(h, 'instances'), before);
  });
});
