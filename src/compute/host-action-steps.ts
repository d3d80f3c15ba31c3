/**
 * What a host action module beside the compute manager (rebuild.ts, rescue.ts, shelve.ts) needs of it:
 * the host's name, options, driver, datapath, conductor and image API, and the manager's one way of recording
 * states, action events and faults. The manager implements it once; the modules take it, so they never
 * reach into the manager's other duties.
 */
import type { Config } from '../common/config/load-config.ts';
import type { RequestContext } from '../common/context.ts';
import type { ConductorRpcApi } from '../wire/contracts/conductor.ts';
import type { InstanceChangesPayload } from '../wire/messages/instance-payload.ts';
import type { SnapshotImageSink } from './image/image-client.ts';
import type { VirtDriver } from './virt/driver.ts';
import type { GuestNetworking } from './guest-networking.ts';

export interface HostActionSteps {
  readonly host: string;
  readonly config: Config;
  readonly driver: VirtDriver;
  readonly conductor: ConductorRpcApi;
  /** Where disk images are uploaded (snapshots, shelved images). */
  readonly images: SnapshotImageSink;
  /** The datapath and the host's record of the guests' interfaces. */
  readonly networking: GuestNetworking;
  /** Records `changes` if the instance's task is one of `expected`; with `event`, the action event too. */
  update(
    ctx: RequestContext,
    uuid: string,
    changes: InstanceChangesPayload,
    expected?: readonly (string | null)[],
    event?: { event: string; phase: 'start' | 'finish' },
    /** And if its vm_state is one of these. */
    expectedVmState?: readonly string[],
    /** And if it is placed on this host. */
    onThisHost?: boolean,
  ): Promise<void>;
  event(ctx: RequestContext, uuid: string, event: string, phase: 'start' | 'finish', error?: Error): Promise<void>;
  /** The end of an action that succeeded: `changes` with the task cleared; a deleted instance is left be. */
  finishAction(
    ctx: RequestContext,
    uuid: string,
    changes: InstanceChangesPayload,
    expectedTasks: readonly (string | null)[],
    event: string,
    logged: Record<string, unknown>,
  ): Promise<void>;
  /** The end of an action that failed: the task cleared (with `changes`), a fault, the event in Error. */
  failAction(
    ctx: RequestContext,
    uuid: string,
    event: string,
    error: Error,
    expectedTasks: readonly string[],
    changes?: InstanceChangesPayload,
  ): Promise<void>;
  fault(ctx: RequestContext, uuid: string, message: string, details?: string): Promise<void>;
  /** Reports the guest's disk snapshot chain to the conductor (after its disks were recreated). */
  reportDiskSnapshots(ctx: RequestContext, uuid: string): Promise<void>;
}
