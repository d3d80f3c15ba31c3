/** reclaimDue: which soft-deleted instances have waited longer than the interval (Nova's _deleted_old_enough). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reclaimDue } from '../../../src/compute/host-duties/reclaim.ts';

const NOW = Date.parse('2026-01-01T12:00:00.000Z');

describe('reclaimDue', () => {
  it('picks those deleted more than the interval ago, and those with no deletion time', () => {
    const queued = [
      { uuid: 'old', deleted_at: '2026-01-01T11:49:59.000Z' },
      { uuid: 'exactly', deleted_at: '2026-01-01T11:50:00.000Z' },
      { uuid: 'recent', deleted_at: '2026-01-01T11:55:00.000Z' },
      { uuid: 'unknown', deleted_at: null },
    ];
    assert.deepEqual(reclaimDue(queued, 600, NOW), ['old', 'unknown']);
  });

  it('picks nothing while soft delete is off', () => {
    assert.deepEqual(reclaimDue([{ uuid: 'x', deleted_at: null }], 0, NOW), []);
  });
});
