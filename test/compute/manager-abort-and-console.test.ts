/**
 * The compute manager with a scripted driver and a conductor that records what it is told: a build
 * failure the driver calls final (BuildAborted) asks for no reschedule, another failure does; console
 * output is cut to the last lines asked for.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/common/config/load-config.ts';
import { adminContext } from '../../src/common/context.ts';
import { BuildAborted, BuildFailed } from '../../src/common/errors.ts';
import type { InstancePayload } from '../../src/wire/messages/instance-payload.ts';
import { ComputeManager } from '../../src/compute/manager.ts';
import { FakeDriver } from '../../src/compute/virt/fake/fake-driver.ts';
import type { ConductorRpcApi, RescheduleRequest } from '../../src/wire/contracts/conductor.ts';
import { fakeDriverOptions } from '../helpers/fake-driver-options.ts';
import { NoopNetworkDriver } from '../../src/compute/network/noop-driver.ts';

/** A fake driver whose spawn throws `failure`, and whose console holds `console`. */
class ScriptedDriver extends FakeDriver {
  failure: Error | null = null;
  console = '';
  constructor() {
    super(fakeDriverOptions({ vcpus: 1, memoryMb: 1024 }));
  }
  override async spawn(instance: InstancePayload, node: string): Promise<void> {
    if (this.failure) throw this.failure;
    return super.spawn(instance, node);
  }
  override async getConsoleOutput(): Promise<string> {
    return this.console;
  }
}

function recordingConductor(reschedules: RescheduleRequest[]): ConductorRpcApi {
  const conductor = {
    instanceUpdate: async () => undefined,
    actionEvent: async () => undefined,
    rescheduleBuild: async (_ctx: unknown, request: RescheduleRequest) => void reschedules.push(request),
  };
  // Only the methods a build uses; the rest of the client is not reached.
  return conductor as unknown as ConductorRpcApi;
}

const instance = {
  uuid: '7d1c5b7e-0000-4000-8000-000000000001',
  flavor: { name: 'f' },
} as unknown as InstancePayload;

async function build(failure: Error): Promise<RescheduleRequest> {
  const driver = new ScriptedDriver();
  driver.failure = failure;
  const reschedules: RescheduleRequest[] = [];
  const manager = new ComputeManager(
    'h',
    loadConfig(),
    driver,
    new NoopNetworkDriver(),
    recordingConductor(reschedules),
  );
  await driver.init('h');
  await manager.buildAndRunInstance(adminContext(), instance, 'h', [], 1);
  assert.equal(reschedules.length, 1);
  return reschedules[0]!;
}

describe('compute manager', () => {
  it('asks for no reschedule when the driver says no host would do better', async () => {
    const request = await build(new BuildAborted('image x is corrupt'));
    assert.equal(request.abort, true);
    assert.equal(request.error.message, 'image x is corrupt');
  });

  it('asks for a reschedule after any other build failure', async () => {
    const request = await build(new BuildFailed('qemu could not start'));
    assert.equal(request.abort, undefined);
  });

  it('returns the last lines of the console when a length is given', async () => {
    const driver = new ScriptedDriver();
    driver.console = 'one\ntwo\nthree\n';
    const manager = new ComputeManager('h', loadConfig(), driver, new NoopNetworkDriver(), recordingConductor([]));
    assert.equal(await manager.getConsoleOutput('u', null), 'one\ntwo\nthree\n');
    assert.equal(await manager.getConsoleOutput('u', 2), 'two\nthree');
    assert.equal(await manager.getConsoleOutput('u', 0), '');
    assert.equal(await manager.getConsoleOutput('u', 10), 'one\ntwo\nthree');
  });
});
