/** Nova's _sync_instance_power_state rules as a decision table. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { powerSyncDecision } from '../../../src/compute/host-duties/power-sync.ts';
import { PowerState as P, TaskState, VmState } from '../../../src/wire/messages/instance-states.ts';

const at = (vm_state: string, power_state: number, task_state: string | null = null) => ({
  vm_state,
  power_state,
  task_state,
});

describe('powerSyncDecision', () => {
  it('leaves an instance with a task under way alone, whatever the guest does', () => {
    assert.deepEqual(powerSyncDecision(at(VmState.ACTIVE, P.RUNNING, TaskState.REBOOTING), P.SHUTDOWN), {
      kind: 'none',
    });
    assert.deepEqual(powerSyncDecision(at(VmState.STOPPED, P.SHUTDOWN, TaskState.POWERING_ON), P.RUNNING), {
      kind: 'none',
    });
  });

  it('does nothing when both sides agree', () => {
    assert.deepEqual(powerSyncDecision(at(VmState.ACTIVE, P.RUNNING), P.RUNNING), { kind: 'none' });
    assert.deepEqual(powerSyncDecision(at(VmState.STOPPED, P.SHUTDOWN), P.SHUTDOWN), { kind: 'none' });
  });

  it('stops an ACTIVE instance whose guest shut down by itself, without powering anything off', () => {
    assert.deepEqual(powerSyncDecision(at(VmState.ACTIVE, P.RUNNING), P.SHUTDOWN), {
      kind: 'stop',
      powerState: P.SHUTDOWN,
      crashed: false,
      powerOff: false,
    });
  });

  it('stops an ACTIVE instance whose guest crashed, marking the crash', () => {
    assert.deepEqual(powerSyncDecision(at(VmState.ACTIVE, P.RUNNING), P.CRASHED), {
      kind: 'stop',
      powerState: P.CRASHED,
      crashed: true,
      powerOff: false,
    });
  });

  it('force-stops an ACTIVE instance whose guest sits suspended on the hypervisor', () => {
    assert.deepEqual(powerSyncDecision(at(VmState.ACTIVE, P.RUNNING), P.SUSPENDED), {
      kind: 'stop',
      powerState: P.SUSPENDED,
      crashed: false,
      powerOff: true,
    });
  });

  it('stops a PAUSED instance whose guest is off', () => {
    assert.equal(powerSyncDecision(at(VmState.PAUSED, P.PAUSED), P.SHUTDOWN).kind, 'stop');
  });

  it('powers off a guest that runs though the instance is STOPPED, and only then', () => {
    assert.deepEqual(powerSyncDecision(at(VmState.STOPPED, P.SHUTDOWN), P.RUNNING), {
      kind: 'stop',
      powerState: P.RUNNING,
      crashed: false,
      powerOff: true,
    });
    assert.deepEqual(powerSyncDecision(at(VmState.STOPPED, P.SHUTDOWN), P.PAUSED), {
      kind: 'stop',
      powerState: P.PAUSED,
      crashed: false,
      powerOff: true,
    });
    assert.deepEqual(powerSyncDecision(at(VmState.STOPPED, P.SHUTDOWN), P.CRASHED), {
      kind: 'record',
      powerState: P.CRASHED,
    });
    assert.deepEqual(powerSyncDecision(at(VmState.STOPPED, P.SHUTDOWN), P.NOSTATE), {
      kind: 'record',
      powerState: P.NOSTATE,
    });
  });

  it('only records the power state of an ACTIVE guest that is paused or not found, as Nova does', () => {
    assert.deepEqual(powerSyncDecision(at(VmState.ACTIVE, P.RUNNING), P.PAUSED), {
      kind: 'record',
      powerState: P.PAUSED,
    });
    assert.deepEqual(powerSyncDecision(at(VmState.ACTIVE, P.RUNNING), P.NOSTATE), {
      kind: 'record',
      powerState: P.NOSTATE,
    });
  });

  it('only records the power state of instances in error, suspended or building', () => {
    for (const vm of [VmState.ERROR, VmState.SUSPENDED, VmState.BUILDING]) {
      assert.deepEqual(powerSyncDecision(at(vm, P.RUNNING), P.SHUTDOWN), { kind: 'record', powerState: P.SHUTDOWN });
    }
  });
});
