/**
 * A conductor stand-in for compute manager tests: it records the state changes, action events, faults
 * and disk snapshot chains compute reports, answers instancesOnHost with `onHost`, and answers any other
 * call with an empty list (so a call a test does not care about neither fails nor needs a handler).
 */
import { loadConfig, type RawOverrides } from '../../src/common/config/load-config.ts';
import type { SnapshotImageSink } from '../../src/compute/image/image-client.ts';
import { ComputeManager } from '../../src/compute/manager.ts';
import { FakeDriver } from '../../src/compute/virt/fake/fake-driver.ts';
import type { ConductorRpcApi } from '../../src/wire/contracts/conductor.ts';
import type { InstanceChangesPayload, InstancePayload } from '../../src/wire/messages/instance-payload.ts';
import { fakeDriverOptions } from './fake-driver-options.ts';
import { NoopNetworkDriver } from '../../src/compute/network/noop-driver.ts';

export interface RecordedReports {
  updates: { changes: InstanceChangesPayload; expected: readonly (string | null)[] | undefined }[];
  events: { event: string; phase: string; error: boolean }[];
  faults: string[];
  chains: (readonly unknown[] | null)[];
  reschedules: { uuid: string; abort?: boolean; error: { message: string } }[];
}

/** `overrides` replace the recording handlers of those methods (a refusal, say). */
export function recordingConductor(
  onHost: InstancePayload[] = [],
  overrides: Record<string, (...args: never[]) => Promise<unknown>> = {},
): {
  conductor: ConductorRpcApi;
  recorded: RecordedReports;
} {
  const recorded: RecordedReports = { updates: [], events: [], faults: [], chains: [], reschedules: [] };
  const handlers: Record<string, (...args: never[]) => Promise<unknown>> = {
    instanceUpdate: async (
      _ctx: unknown,
      _uuid: string,
      changes: InstanceChangesPayload,
      expected?: readonly (string | null)[],
      event?: { event: string; phase: string },
    ) => {
      recorded.updates.push({ changes, expected });
      if (event) recorded.events.push({ event: event.event, phase: event.phase, error: false });
    },
    actionEvent: async (_ctx: unknown, e: { event: string; phase: string; error?: unknown }) => {
      recorded.events.push({ event: e.event, phase: e.phase, error: e.error !== undefined });
    },
    recordFault: async (_ctx: unknown, f: { message: string }) => {
      recorded.faults.push(f.message);
    },
    syncDiskSnapshots: async (_ctx: unknown, _uuid: string, chain: readonly unknown[] | null) => {
      recorded.chains.push(chain);
    },
    rescheduleBuild: async (_ctx: unknown, request: RecordedReports['reschedules'][number]) => {
      recorded.reschedules.push(request);
    },
    instancesOnHost: async () => onHost,
    ...overrides,
  };
  // `then` stays undefined so that awaiting the stand-in itself does not treat it as a promise.
  const conductor = new Proxy(handlers, {
    get: (target, name) =>
      typeof name !== 'string' || name === 'then' ? undefined : (target[name] ?? (async () => [])),
  });
  return { conductor: conductor as unknown as ConductorRpcApi, recorded };
}

/**
 * A compute manager for host `h` on a fresh fake driver, reporting to a recording conductor whose
 * instancesOnHost answers `onHost`; `images` stands in for the image API when given.
 */
export async function managerOnFakeDriver(
  options: {
    onHost?: InstancePayload[];
    images?: SnapshotImageSink;
    config?: RawOverrides;
    conductor?: Record<string, (...args: never[]) => Promise<unknown>>;
  } = {},
) {
  const driver = new FakeDriver(fakeDriverOptions());
  await driver.init('h');
  const { conductor, recorded } = recordingConductor(options.onHost, options.conductor);
  const config = loadConfig([], options.config);
  const manager = new ComputeManager('h', config, driver, new NoopNetworkDriver(), conductor, options.images);
  return { driver, manager, recorded };
}
