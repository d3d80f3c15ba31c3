/**
 * The fake driver: guests live in memory. It simulates as many nodes as configured (each a compute node
 * with its own inventory, for scale tests) with simulated storage pools, spawn and power delays, and random spawn failures to exercise
 * rescheduling. Guests are lost when the process exits, as a host reboot would lose them.
 */
import { Readable } from 'node:stream';
import { BuildFailed, ConsoleTypeUnavailable, InstanceInvalidState, NotFound } from '../../../common/errors.ts';
import { PowerState } from '../../../wire/messages/instance-states.ts';
import { DiskSnapshotLinkShape } from '../../../wire/messages/disk-snapshot-link.ts';
import type { InstancePayload } from '../../../wire/messages/instance-payload.ts';
import type { StoragePoolResources } from '../../storage-pools.ts';
import type {
  DiskSnapshotLink,
  GuestInfo,
  NodeResources,
  RebootType,
  SnapshotData,
  VirtDriver,
  VncConsole,
} from '../driver.ts';

export interface FakeDriverOptions {
  nodeCount: number;
  vcpus: number;
  memoryMb: number;
  /** Simulated pools of every node, one per tier. */
  storagePools: readonly StoragePoolResources[];
  spawnDelayMs: number;
  powerDelayMs: number;
  spawnFailureRate: number;
}

interface FakeGuest {
  uuid: string;
  nodename: string;
  powerState: number;
  /** The disk snapshot chain, oldest link first: ids only, there is no disk. */
  diskSnapshots: string[];
}

export class FakeDriver implements VirtDriver {
  private readonly guests = new Map<string, FakeGuest>();
  private nodeList: NodeResources[] = [];

  constructor(private readonly options: FakeDriverOptions) {}

  async init(host: string): Promise<void> {
    const { nodeCount } = this.options;
    this.nodeList = Array.from({ length: nodeCount }, (_, i) => ({
      nodename: nodeCount === 1 ? host : `${host}-node${i}`,
      hypervisorType: 'fake',
      hypervisorVersion: 1000,
      cpuInfo: JSON.stringify({
        arch: 'x86_64',
        model: 'fake',
        vendor: 'Stratus',
        topology: { sockets: 1, cores: this.options.vcpus, threads: 1 },
      }),
      vcpus: this.options.vcpus,
      memoryMb: this.options.memoryMb,
      localGb: this.options.storagePools.reduce((sum, pool) => sum + pool.totalGb, 0),
      storagePools: this.options.storagePools,
      hostIp: '127.0.0.1',
      // As Nova's fake driver: x86_64 guests of the `fake` hypervisor type.
      supportedInstances: [['x86_64', 'fake', 'hvm']],
    }));
  }

  nodes(): NodeResources[] {
    return this.nodeList;
  }

  async spawn(instance: InstancePayload, node: string): Promise<void> {
    if (!this.nodeList.some((n) => n.nodename === node)) throw new BuildFailed(`node ${node} is not on this host`);
    if (this.guests.has(instance.uuid)) throw new BuildFailed(`guest ${instance.uuid} already exists`);
    // What a real driver meets when the scheduler sent a disk to a host without its tier's pool.
    if (!this.options.storagePools.some((p) => p.tier === instance.storage_tier)) {
      throw new BuildFailed(`node ${node} has no ${instance.storage_tier} storage pool for ${instance.uuid}`);
    }
    await delay(this.options.spawnDelayMs);
    if (this.options.spawnFailureRate > 0 && Math.random() < this.options.spawnFailureRate) {
      throw new BuildFailed(`fake driver: injected spawn failure for ${instance.uuid} on ${node}`);
    }
    this.guests.set(instance.uuid, {
      uuid: instance.uuid,
      nodename: node,
      powerState: PowerState.RUNNING,
      diskSnapshots: [],
    });
  }

  async destroy(uuid: string): Promise<void> {
    await delay(this.options.powerDelayMs);
    this.guests.delete(uuid);
  }

  async powerOff(uuid: string): Promise<void> {
    const guest = this.guest(uuid);
    await delay(this.options.powerDelayMs);
    guest.powerState = PowerState.SHUTDOWN;
  }

  async powerOn(uuid: string): Promise<void> {
    const guest = this.guest(uuid);
    await delay(this.options.powerDelayMs);
    guest.powerState = PowerState.RUNNING;
  }

  async reboot(uuid: string, _type: RebootType): Promise<void> {
    const guest = this.guest(uuid);
    await delay(this.options.powerDelayMs);
    guest.powerState = PowerState.RUNNING;
  }

  async pause(uuid: string): Promise<void> {
    await this.setPower(uuid, PowerState.RUNNING, PowerState.PAUSED);
  }

  async unpause(uuid: string): Promise<void> {
    await this.setPower(uuid, PowerState.PAUSED, PowerState.RUNNING);
  }

  async suspend(uuid: string): Promise<void> {
    await this.setPower(uuid, PowerState.RUNNING, PowerState.SUSPENDED);
  }

  async resume(uuid: string): Promise<void> {
    await this.setPower(uuid, PowerState.SUSPENDED, PowerState.RUNNING);
  }

  /** Moves the guest from power state `from` to `to`, refusing from any other state as a hypervisor would. */
  private async setPower(uuid: string, from: number, to: number): Promise<void> {
    const guest = this.guest(uuid);
    if (guest.powerState !== from) {
      throw new InstanceInvalidState(`guest ${uuid} is in power state ${guest.powerState}, not ${from}`);
    }
    await delay(this.options.powerDelayMs);
    guest.powerState = to;
  }

  listGuests(): GuestInfo[] {
    return [...this.guests.values()].map((g) => ({ uuid: g.uuid, nodename: g.nodename, powerState: g.powerState }));
  }

  powerState(uuid: string): number {
    return this.guests.get(uuid)?.powerState ?? PowerState.NOSTATE;
  }

  /**
   * A fake-driver behaviour: there is no disk, so the snapshot is a small placeholder text (disk_format
   * raw) that names the guest. It makes the createImage flow testable end to end; nothing boots from it.
   */
  async snapshot(uuid: string): Promise<SnapshotData> {
    const guest = this.guest(uuid);
    await delay(this.options.powerDelayMs);
    const bytes = Buffer.from(`Stratus fake driver snapshot of guest ${guest.uuid}\n`);
    return {
      diskFormat: 'raw',
      containerFormat: 'bare',
      size: bytes.length,
      open: () => Readable.from([bytes]),
      discard: async () => undefined,
    };
  }

  /** The chain as a list of ids; a fake link has no file, so no size. */
  async diskSnapshots(uuid: string): Promise<DiskSnapshotLink[]> {
    return this.guest(uuid).diskSnapshots.map((id) => DiskSnapshotLinkShape.build({ id, size: null }));
  }

  async createDiskSnapshot(uuid: string, id: string): Promise<void> {
    const guest = this.guest(uuid);
    await delay(this.options.powerDelayMs);
    if (!guest.diskSnapshots.includes(id)) guest.diskSnapshots.push(id);
  }

  async deleteDiskSnapshot(uuid: string, id: string): Promise<void> {
    const guest = this.guest(uuid);
    await delay(this.options.powerDelayMs);
    guest.diskSnapshots = guest.diskSnapshots.filter((link) => link !== id);
  }

  /** Drops the later links; the guest keeps its power state, as the qemu driver leaves it. */
  async revertDiskSnapshot(uuid: string, id: string): Promise<void> {
    const guest = this.guest(uuid);
    const at = guest.diskSnapshots.indexOf(id);
    if (at < 0) throw new NotFound(`disk snapshot ${id} is not in the chain of guest ${uuid}`);
    await delay(this.options.powerDelayMs);
    guest.diskSnapshots = guest.diskSnapshots.slice(0, at + 1);
  }

  async getConsoleOutput(uuid: string): Promise<string> {
    const guest = this.guest(uuid);
    return `fake console of ${guest.uuid}\nFAKE CONSOLE OUTPUT\n`;
  }

  /** Simulated guests have no screen: like a hypervisor without VNC, the console type is unavailable. */
  async getVncConsole(uuid: string): Promise<VncConsole> {
    this.guest(uuid);
    throw new ConsoleTypeUnavailable('Unavailable console type vnc.');
  }

  async manageImageCache(): Promise<void> {}

  async shutdown(): Promise<void> {}

  private guest(uuid: string): FakeGuest {
    const guest = this.guests.get(uuid);
    if (!guest) throw new NotFound(`guest ${uuid} is not on this host`);
    return guest;
  }
}

function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}
