/**
 * Calls made again across an outage (src/common/rpc/bus-retry.ts): a lost message, and a handler's
 * database connection lost while it ran, which crosses the call as DBConnectionError
 * (src/common/rpc/failure.ts), are sent again; any other failure is the caller's at once.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { retryWhileBusAway } from '../../../src/common/rpc/bus-retry.ts';
import { DBConnectionError, MessageDeliveryFailure, RemoteError } from '../../../src/common/rpc/errors.ts';
import { deserializeFailure, serializeFailure } from '../../../src/common/rpc/failure.ts';

/** A driver's error as mysql2 raises it when the server dies under a statement. */
function connectionReset(): Error {
  return Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', fatal: true });
}

describe('retryWhileBusAway', () => {
  it('sends again after a lost message and a database connection lost remotely or here', async () => {
    const failures = [
      new MessageDeliveryFailure('Lost the connection to RabbitMQ'),
      deserializeFailure(serializeFailure(connectionReset())),
      connectionReset(),
    ];
    let attempts = 0;
    const result = await retryWhileBusAway(
      'test',
      async () => {
        const failure = failures[attempts++];
        if (failure) throw failure;
        return 'done';
      },
      10_000,
      1,
    );
    assert.equal(result, 'done');
    assert.equal(attempts, 4);
  });

  it('raises any other failure at once', async () => {
    let attempts = 0;
    await assert.rejects(
      retryWhileBusAway(
        'test',
        async () => {
          attempts += 1;
          throw new RemoteError('NoValidHost', 'No valid host was found.', '');
        },
        10_000,
        1,
      ),
      RemoteError,
    );
    assert.equal(attempts, 1);
  });
});

describe('serializeFailure: a lost database connection', () => {
  it('crosses a call as DBConnectionError (503), saying the outcome is unknown', () => {
    const failure = serializeFailure(connectionReset());
    assert.equal(failure.class, 'DBConnectionError');
    assert.equal(failure.status, 503);
    assert.match(failure.message, /read ECONNRESET: the database connection was lost .* may or may not/);
    assert.ok(deserializeFailure(failure) instanceof DBConnectionError);
  });

  it('names so the error mysql2 raises for a statement on a connection it found dead', () => {
    const closed = Object.assign(new Error("Can't add new command when connection is in closed state"), {
      fatal: true,
    });
    assert.equal(serializeFailure(closed).class, 'DBConnectionError');
  });

  it("leaves another client's socket error as it is (an HTTP request refused is no database outage)", () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9292'), { code: 'ECONNREFUSED' });
    assert.equal(serializeFailure(refused).class, 'Error');
  });
});
