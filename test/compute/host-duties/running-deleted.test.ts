/** Which guests of deleted or unknown instances are due for running_deleted_instance_action, and when. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RunningDeletedTracker } from '../../../src/compute/host-duties/running-deleted.ts';
import { PowerState } from '../../../src/wire/messages/instance-states.ts';

const guest = (uuid: string, powerState: number = PowerState.RUNNING) => ({ uuid, nodename: 'h', powerState });
const T0 = Date.parse('2026-01-01T00:00:00Z');

describe('RunningDeletedTracker', () => {
  it('never touches guests of live instances', () => {
    const tracker = new RunningDeletedTracker();
    assert.deepEqual(tracker.due([guest('a')], new Set(['a']), new Map(), 0, T0), []);
  });

  it('takes a deleted instance once the timeout has passed since its deletion', () => {
    const tracker = new RunningDeletedTracker();
    const deleted = new Map([['d', new Date(T0).toISOString()]]);
    assert.deepEqual(tracker.due([guest('d')], new Set(), deleted, 60, T0 + 59_000), []);
    assert.deepEqual(tracker.due([guest('d')], new Set(), deleted, 60, T0 + 60_000), [
      { uuid: 'd', deletedAt: new Date(T0).toISOString(), running: true },
    ]);
  });

  it('times an unknown guest from its first sighting, and forgets it once it is gone', () => {
    const tracker = new RunningDeletedTracker();
    const orphan = guest('u', PowerState.SHUTDOWN);
    assert.deepEqual(tracker.due([orphan], new Set(), new Map(), 30, T0), []);
    assert.deepEqual(tracker.due([orphan], new Set(), new Map(), 30, T0 + 29_000), []);
    assert.deepEqual(tracker.due([orphan], new Set(), new Map(), 30, T0 + 30_000), [
      { uuid: 'u', deletedAt: null, running: false },
    ]);
    // Gone, then back: its clock starts again.
    assert.deepEqual(tracker.due([], new Set(), new Map(), 30, T0 + 40_000), []);
    assert.deepEqual(tracker.due([orphan], new Set(), new Map(), 30, T0 + 50_000), []);
  });

  it('with no timeout, takes deleted and unknown guests at once', () => {
    const tracker = new RunningDeletedTracker();
    const deleted = new Map([['d', new Date(T0).toISOString()]]);
    const due = tracker.due(
      [guest('d'), guest('u', PowerState.PAUSED), guest('live')],
      new Set(['live']),
      deleted,
      0,
      T0,
    );
    assert.deepEqual(
      due.map((o) => [o.uuid, o.running]),
      [
        ['d', true],
        ['u', true],
      ],
    );
  });
});
