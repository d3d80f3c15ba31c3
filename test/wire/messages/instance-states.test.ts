/** The API status of a server being rebuilt, as Nova's state map gives it for every task of a rebuild. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiStatus, REBUILD_TASKS, VmState } from '../../../src/wire/messages/instance-states.ts';

describe('apiStatus', () => {
  it('is REBUILD for every rebuild task from ACTIVE, SHUTOFF and ERROR, and the vm_state without one', () => {
    for (const vmState of [VmState.ACTIVE, VmState.STOPPED, VmState.ERROR]) {
      for (const task of REBUILD_TASKS) assert.equal(apiStatus(vmState, task), 'REBUILD', `${vmState} ${task}`);
    }
    assert.deepEqual(
      [VmState.ACTIVE, VmState.STOPPED, VmState.ERROR].map((vmState) => apiStatus(vmState, null)),
      ['ACTIVE', 'SHUTOFF', 'ERROR'],
    );
  });
});
