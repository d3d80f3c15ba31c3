/**
 * The virt driver contract (Nova's virt/driver.py): everything the compute manager asks of a hypervisor.
 * Nothing outside virt/ knows which driver runs. Every method is idempotent where the manager may repeat
 * it after a crash (destroy of a missing guest succeeds; spawn of an existing guest fails).
 */
import type { InstancePayload } from '../instance-payload.ts';

/** One hypervisor node's resources and identity, as the driver sees them. */
export interface NodeResources {
  readonly nodename: string;
  readonly hypervisorType: string;
  readonly hypervisorVersion: number;
  readonly cpuInfo: string;
  readonly vcpus: number;
  readonly memoryMb: number;
  readonly localGb: number;
  readonly hostIp: string | null;
}

export interface GuestInfo {
  readonly uuid: string;
  readonly nodename: string;
  /** A PowerState value. */
  readonly powerState: number;
}

export type RebootType = 'SOFT' | 'HARD';

export interface VirtDriver {
  /** Prepares the driver on this host; runs once before anything else. */
  init(host: string): Promise<void>;
  /** The nodes this host exposes (one for a hypervisor, many for the fake driver's scale tests). */
  nodes(): NodeResources[];
  /** Creates and starts the guest; resolves once it runs. Throws on failure, leaving nothing behind. */
  spawn(instance: InstancePayload, node: string): Promise<void>;
  /** Stops and removes the guest and its disks; succeeds if the guest does not exist. */
  destroy(uuid: string): Promise<void>;
  /** Stops the guest, cleanly within `timeoutSec`, then forcibly. */
  powerOff(uuid: string, timeoutSec: number): Promise<void>;
  powerOn(uuid: string): Promise<void>;
  reboot(uuid: string, type: RebootType): Promise<void>;
  /** The guests this host runs, whatever the database says. */
  listGuests(): GuestInfo[];
  /** Releases what the driver holds (connections, timers); guests keep running. */
  shutdown(): Promise<void>;
}
