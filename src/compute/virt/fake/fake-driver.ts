/**
 * The fake driver: guests live in memory. It simulates as many nodes as configured (each a compute node
 * with its own inventory, for scale tests), spawn and power delays, and random spawn failures to exercise
 * rescheduling. Guests are lost when the process exits, as a host reboot would lose them.
 */
import { BuildFailed, NotFound } from '../../../common/errors.ts';
import { PowerState } from '../../../objects/instance-states.ts';
import type { InstancePayload } from '../../instance-payload.ts';
import type { GuestInfo, NodeResources, RebootType, VirtDriver } from '../driver.ts';

export interface FakeDriverOptions {
  nodeCount: number;
  vcpus: number;
  memoryMb: number;
  localGb: number;
  spawnDelayMs: number;
  powerDelayMs: number;
  spawnFailureRate: number;
}

interface FakeGuest {
  uuid: string;
  nodename: string;
  powerState: number;
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
      localGb: this.options.localGb,
      hostIp: '127.0.0.1',
    }));
  }

  nodes(): NodeResources[] {
    return this.nodeList;
  }

  async spawn(instance: InstancePayload, node: string): Promise<void> {
    if (!this.nodeList.some((n) => n.nodename === node)) throw new BuildFailed(`node ${node} is not on this host`);
    if (this.guests.has(instance.uuid)) throw new BuildFailed(`guest ${instance.uuid} already exists`);
    await delay(this.options.spawnDelayMs);
    if (this.options.spawnFailureRate > 0 && Math.random() < this.options.spawnFailureRate) {
      throw new BuildFailed(`fake driver: injected spawn failure for ${instance.uuid} on ${node}`);
    }
    this.guests.set(instance.uuid, { uuid: instance.uuid, nodename: node, powerState: PowerState.RUNNING });
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

  listGuests(): GuestInfo[] {
    return [...this.guests.values()].map((g) => ({ uuid: g.uuid, nodename: g.nodename, powerState: g.powerState }));
  }

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
