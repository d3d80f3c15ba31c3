/**
 * The compute host's watchdog: a build past instance_build_timeout goes to ERROR with Nova's fault and
 * gives back its claim, and its late end is harmless; one that finished meanwhile is left alone; a
 * reboot past reboot_timeout is done again, hard.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adminContext } from '../../src/common/context.ts';
import { InstanceInvalidState } from '../../src/common/errors.ts';
import { StuckTaskWatchdog } from '../../src/compute/stuck-tasks.ts';
import { BUILD_TIMED_OUT } from '../../src/wire/messages/build-timeout.ts';
import { PowerState, TaskState, VmState } from '../../src/wire/messages/instance-states.ts';
import { instancePayload } from '../helpers/instance-payload.ts';
import { managerOnFakeDriver } from '../helpers/recording-conductor.ts';

/** A clock the test moves by hand: ages are counted from the watchdog's own sightings. */
function handClock() {
  let ms = 1_000_000;
  return { now: () => ms, advance: (seconds: number) => (ms += seconds * 1000) };
}

describe('StuckTaskWatchdog: instance_build_timeout', () => {
  it('puts a build hung in spawn into ERROR with a fault, frees its claim, and removes the guest', async () => {
    const spawning = instancePayload('vm-hung', { task_state: TaskState.SPAWNING });
    // The instance's row as the conductor guards it: a change expecting a task the row no longer has is refused.
    const row = { vm_state: VmState.BUILDING as string, task_state: TaskState.SCHEDULING as string | null };
    const changes: Record<string, unknown>[] = [];
    const { driver, manager, recorded } = await managerOnFakeDriver({
      onHost: [spawning],
      config: { DEFAULT: { instance_build_timeout: '60' } },
      conductor: {
        instanceUpdate: async (
          _ctx: unknown,
          _uuid: string,
          change: { vm_state?: string; task_state?: string | null },
          expectedTask?: (string | null)[],
          _event?: unknown,
          expectedVm?: string[],
        ) => {
          if (expectedTask && !expectedTask.includes(row.task_state)) throw new InstanceInvalidState('task changed');
          if (expectedVm && !expectedVm.includes(row.vm_state)) throw new InstanceInvalidState('state changed');
          Object.assign(row, change);
          changes.push(change);
        },
      },
    });
    // The driver's spawn makes the guest, then never answers until the test lets it.
    let finishSpawn!: () => void;
    let spawned!: () => void;
    const guestMade = new Promise<void>((resolve) => (spawned = resolve));
    const spawn = driver.spawn.bind(driver);
    driver.spawn = (instance, node, nics) =>
      spawn(instance, node, nics).then(() => {
        spawned();
        return new Promise<void>((resolve) => (finishSpawn = resolve));
      });
    const build = manager.buildAndRunInstance(adminContext(), instancePayload('vm-hung'), 'h', [], 1);
    await guestMade;
    const clock = handClock();
    const watchdog = new StuckTaskWatchdog(manager, clock.now);

    await watchdog.check();
    clock.advance(59);
    await watchdog.check();
    assert.deepEqual(recorded.faults, [], 'not yet past the timeout');
    clock.advance(1);
    await watchdog.check();

    assert.deepEqual(changes.at(-1), { vm_state: VmState.ERROR, task_state: null });
    assert.deepEqual(recorded.faults, [BUILD_TIMED_OUT]);
    assert.deepEqual(
      recorded.reschedules.map((r) => [r.uuid, r.abort, r.error.message]),
      [['vm-hung', true, BUILD_TIMED_OUT]],
      'the claim is freed as for a failed build, with no retry elsewhere',
    );
    assert.ok(!driver.listGuests().some((g) => g.uuid === 'vm-hung'), 'the guest is removed');
    assert.ok(
      recorded.events.some((e) => e.event === 'compute_build_and_run_instance' && e.phase === 'finish' && e.error),
    );
    // The hung spawn ends later: its ACTIVE is refused, so it removes what it made, and the row stays ERROR.
    await spawn(spawning, 'h'); // what a hung spawn may still make after the watchdog's removal
    finishSpawn();
    await build;
    assert.equal(row.vm_state, VmState.ERROR);
    assert.ok(!driver.listGuests().some((g) => g.uuid === 'vm-hung'), 'the late guest is removed too');
    await watchdog.check();
    assert.equal(recorded.reschedules.length, 1, 'a build is timed out once');
  });

  it('leaves a build that finished meanwhile: the guarded ERROR is refused, nothing else happens', async () => {
    const building = instancePayload('vm-done', { task_state: TaskState.SPAWNING });
    const { manager, recorded } = await managerOnFakeDriver({
      onHost: [building],
      config: { DEFAULT: { instance_build_timeout: '10' } },
      conductor: {
        instanceUpdate: async () => {
          throw new InstanceInvalidState('Instance vm-done is active, not building');
        },
      },
    });
    const clock = handClock();
    const watchdog = new StuckTaskWatchdog(manager, clock.now);
    await watchdog.check();
    clock.advance(10);
    await watchdog.check();
    assert.deepEqual(recorded.faults, []);
    assert.deepEqual(recorded.reschedules, []);
  });

  it('does nothing while both timeouts are 0 (the default)', async () => {
    const { manager, recorded } = await managerOnFakeDriver({
      onHost: [instancePayload('vm-slow', { task_state: TaskState.SPAWNING })],
    });
    // A slow build its handler still works on (one without a handler is finished: below).
    manager.buildsUnderWay.take('vm-slow');
    const clock = handClock();
    const watchdog = new StuckTaskWatchdog(manager, clock.now);
    await watchdog.check();
    clock.advance(100_000);
    await watchdog.check();
    assert.deepEqual(recorded.updates, []);
  });
});

describe('StuckTaskWatchdog: builds whose end was not recorded', () => {
  it('records ACTIVE a build whose guest runs, after twice rpc_response_timeout, and only then', async () => {
    const spawning = instancePayload('vm-ran', { task_state: TaskState.SPAWNING });
    const { driver, manager, recorded } = await managerOnFakeDriver({
      onHost: [spawning],
      config: { DEFAULT: { rpc_response_timeout: '20' } },
    });
    await driver.spawn(spawning, 'h');
    const clock = handClock();
    const watchdog = new StuckTaskWatchdog(manager, clock.now);
    await watchdog.check();
    clock.advance(39);
    await watchdog.check();
    assert.equal(recorded.updates.length, 0, 'its handler may still record it');
    clock.advance(1);
    await watchdog.check();
    assert.equal(recorded.updates.length, 1);
    const { launched_at: launchedAt, ...changes } = recorded.updates[0]!.changes;
    assert.deepEqual(changes, { vm_state: VmState.ACTIVE, task_state: null, power_state: PowerState.RUNNING });
    assert.ok(launchedAt);
    assert.deepEqual(recorded.updates[0]!.expected, [TaskState.SPAWNING]);
    assert.ok(
      driver.listGuests().some((g) => g.uuid === 'vm-ran'),
      'the guest is kept',
    );
  });

  it('hands back to scheduling, on this host only, a build that never got its guest', async () => {
    const spawning = instancePayload('vm-never', { task_state: TaskState.SPAWNING });
    const hosts: (string | undefined)[] = [];
    const { manager, recorded } = await managerOnFakeDriver({
      onHost: [spawning],
      config: { DEFAULT: { rpc_response_timeout: '20' } },
      conductor: {
        instanceUpdate: async (
          _ctx: unknown,
          _uuid: string,
          changes: Record<string, unknown>,
          expected?: (string | null)[],
          _event?: unknown,
          _vm?: unknown,
          host?: string,
        ) => {
          recorded.updates.push({ changes, expected });
          hosts.push(host);
        },
      },
    });
    const clock = handClock();
    const watchdog = new StuckTaskWatchdog(manager, clock.now);
    await watchdog.check();
    clock.advance(40);
    await watchdog.check();
    assert.deepEqual(recorded.updates, [{ changes: { task_state: TaskState.SCHEDULING }, expected: ['spawning'] }]);
    assert.deepEqual(hosts, ['h'], 'guarded on this host: the conductor casts it here again');
    await watchdog.check();
    assert.equal(recorded.updates.length, 1, 'once per quiet period');
  });

  it('leaves alone a build its handler works on, however long it takes', async () => {
    const { manager, recorded } = await managerOnFakeDriver({
      onHost: [instancePayload('vm-long', { task_state: TaskState.SPAWNING })],
      config: { DEFAULT: { rpc_response_timeout: '20' } },
    });
    manager.buildsUnderWay.take('vm-long');
    const clock = handClock();
    const watchdog = new StuckTaskWatchdog(manager, clock.now);
    await watchdog.check();
    clock.advance(1000);
    await watchdog.check();
    assert.deepEqual(recorded.updates, []);
  });
});

describe('StuckTaskWatchdog: reboot_timeout', () => {
  it('reboots hard a guest whose reboot is past the timeout, once per timeout', async () => {
    const rebooting = instancePayload('vm-reboot', {
      vm_state: VmState.ACTIVE,
      task_state: TaskState.REBOOTING,
      power_state: PowerState.RUNNING,
    });
    const { driver, manager, recorded } = await managerOnFakeDriver({
      onHost: [rebooting],
      config: { DEFAULT: { reboot_timeout: '30' } },
    });
    await driver.spawn(rebooting, 'h');
    const reboots: { type: string; done: Promise<void> }[] = [];
    const reboot = manager.rebootInstance.bind(manager);
    manager.rebootInstance = (ctx, instance, type) => {
      const done = reboot(ctx, instance, type);
      reboots.push({ type, done });
      return done;
    };
    const clock = handClock();
    const watchdog = new StuckTaskWatchdog(manager, clock.now);
    await watchdog.check();
    clock.advance(29);
    await watchdog.check();
    assert.equal(reboots.length, 0);
    clock.advance(1);
    await watchdog.check();
    await watchdog.check();
    assert.deepEqual(
      reboots.map((r) => r.type),
      ['HARD'],
    );
    await Promise.all(reboots.map((r) => r.done));
    const end = recorded.updates.at(-1)!;
    assert.deepEqual(end.changes, { vm_state: VmState.ACTIVE, power_state: PowerState.RUNNING, task_state: null });
  });
});

describe('StuckTaskWatchdog: deletes left unfinished', () => {
  it('terminates again a delete still deleting twice rpc_response_timeout after it was first seen', async () => {
    const deleting = instancePayload('vm-deleting', { vm_state: VmState.ACTIVE, task_state: TaskState.DELETING });
    const onHost = [deleting];
    const deleted: string[] = [];
    // No build or reboot timeout: the delete check runs regardless.
    const { driver, manager } = await managerOnFakeDriver({
      onHost,
      config: { DEFAULT: { rpc_response_timeout: '20' } },
      conductor: {
        instanceDeleted: async (_ctx: unknown, uuid: string) => {
          deleted.push(uuid);
          onHost.length = 0;
        },
      },
    });
    await driver.spawn(deleting, 'h');
    const clock = handClock();
    const watchdog = new StuckTaskWatchdog(manager, clock.now);
    await watchdog.check();
    clock.advance(39);
    await watchdog.check();
    assert.deepEqual(deleted, [], 'its terminate_instance may still be on its way');
    assert.ok(driver.listGuests().some((g) => g.uuid === 'vm-deleting'));
    clock.advance(1);
    await watchdog.check();
    assert.deepEqual(deleted, ['vm-deleting']);
    assert.ok(!driver.listGuests().some((g) => g.uuid === 'vm-deleting'), 'the guest is destroyed');
    clock.advance(60);
    await watchdog.check();
    assert.deepEqual(deleted, ['vm-deleting'], 'once deleted it is no longer on the host');
  });

  it('retries a delete whose terminate fails once per quiet period, not at every check', async () => {
    const deleting = instancePayload('vm-stubborn', { task_state: TaskState.DELETING });
    let attempts = 0;
    const { manager } = await managerOnFakeDriver({
      onHost: [deleting],
      config: { DEFAULT: { rpc_response_timeout: '10' } },
      conductor: {
        instanceDeleted: async () => {
          attempts++;
          throw new Error('conductor unreachable');
        },
      },
    });
    const clock = handClock();
    const watchdog = new StuckTaskWatchdog(manager, clock.now);
    await watchdog.check();
    clock.advance(20);
    await watchdog.check();
    await watchdog.check();
    assert.equal(attempts, 1, 'the failure is logged, and the count starts again');
    clock.advance(20);
    await watchdog.check();
    assert.equal(attempts, 2);
  });
});
