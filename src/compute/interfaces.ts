/**
 * The compute host's side of a guest's network interfaces (compute contract 1.6): hot-plugging a NIC for
 * an attached port, removing one for a detached port, and handing changed interfaces (security groups,
 * rules, floating IPs) to the host's datapath.
 */
import { getLogger } from '../common/log/logger.ts';
import type { InstancePayload } from '../wire/messages/instance-payload.ts';
import type { NetworkInfo, Vif } from '../wire/messages/network-info.ts';
import type { VirtDriver } from './virt/driver.ts';

const log = getLogger('compute.interfaces');

/** What the host's datapath does when a guest's interfaces change; none until a datapath is wired. */
export type NetworkInfoListener = (instance: InstancePayload, networkInfo: NetworkInfo) => Promise<void>;

export class GuestInterfaces {
  private listener: NetworkInfoListener | null = null;

  constructor(private readonly driver: VirtDriver) {}

  /** The datapath registers here to hear of changed interfaces (one listener: the host's datapath). */
  onNetworkInfoChanged(listener: NetworkInfoListener): void {
    this.listener = listener;
  }

  async attach(instance: InstancePayload, vif: Vif): Promise<void> {
    log.info({ instance: instance.uuid, port: vif.id }, 'attaching interface');
    await this.driver.attachInterface(instance.uuid, vif);
  }

  async detach(instance: InstancePayload, vif: Vif): Promise<void> {
    log.info({ instance: instance.uuid, port: vif.id }, 'detaching interface');
    await this.driver.detachInterface(instance.uuid, vif);
  }

  async networkInfoChanged(instance: InstancePayload, networkInfo: NetworkInfo): Promise<void> {
    if (!this.listener) {
      log.debug({ instance: instance.uuid }, 'interfaces changed; no datapath listens on this host');
      return;
    }
    await this.listener(instance, networkInfo);
  }
}
