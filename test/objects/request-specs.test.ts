/**
 * Stored request specs keep their payload_version: one written by this release reads back as it is, one
 * written before payloads carried versions reads as 1.0, and one of a newer shape than this release knows
 * is refused naming the shape and both versions (rather than read as something it is not). A move
 * schedules with the stored spec less the host the boot asked for.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getRequestSpec, moveRequestSpec, saveRequestSpec } from '../../src/objects/request-specs.ts';
import { UnsupportedPayloadVersion } from '../../src/wire/payload.ts';
import { openTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { insertTestInstance } from '../helpers/instance-rows.ts';
import { testSpec } from '../helpers/request-spec.ts';

describe('stored request specs', () => {
  let database: TestDatabase;
  before(async () => {
    database = await openTestDatabase('sqlite');
  });
  after(() => database?.close());

  /** Stores `spec` as the JSON text a release wrote. */
  async function store(spec: object): Promise<string> {
    const uuid = await insertTestInstance(database.db, {});
    await database.db
      .insertInto('request_specs')
      .values({ instance_uuid: uuid, spec: JSON.stringify(spec) })
      .execute();
    return uuid;
  }

  it('read back with the version they were written in', async () => {
    const uuid = await insertTestInstance(database.db, {});
    await saveRequestSpec(database.db, uuid, testSpec());
    assert.deepEqual(await getRequestSpec(database.db, uuid), testSpec());
    assert.equal((await getRequestSpec(database.db, uuid)).payload_version, '1.1');
    // One written by a release of RequestSpec 1.0 reads as it is (1.1 only added an optional field).
    const older = await insertTestInstance(database.db, {});
    await saveRequestSpec(database.db, older, { ...testSpec(), payload_version: '1.0' });
    assert.equal((await getRequestSpec(database.db, older)).payload_version, '1.0');
  });

  it('written without a version (by the first release): read as 1.0', async () => {
    const { payload_version: _version, ...unversioned } = testSpec();
    const uuid = await store(unversioned);
    assert.deepEqual(await getRequestSpec(database.db, uuid), { ...unversioned, payload_version: '1.0' });
  });

  it('written in a newer shape than this release reads: refused, naming both versions', async () => {
    const uuid = await store({ ...testSpec(), payload_version: '1.7' });
    await assert.rejects(getRequestSpec(database.db, uuid), (err: unknown) => {
      assert.ok(err instanceof UnsupportedPayloadVersion, String(err));
      assert.match(
        err.message,
        new RegExp(
          `The stored request spec of instance ${uuid} carries RequestSpec 1\\.7, and this service reads RequestSpec up to 1\\.1`,
        ),
      );
      return true;
    });
  });

  it('as a move schedules with it: without the boot’s requested host, with the move’s own', () => {
    const booted = testSpec({}, { requested_destination: { host: 'first', node: null } });
    assert.equal(moveRequestSpec(booted, undefined).requested_destination, undefined);
    assert.deepEqual(moveRequestSpec(booted, 'chosen').requested_destination, { host: 'chosen', node: null });
    assert.equal(moveRequestSpec(booted, undefined).flavor, booted.flavor);
  });
});
