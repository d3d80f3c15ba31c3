/**
 * A port's bandwidth limits, as libvirt applies Nova's `quota:vif_*` specs: what the guest receives leaves
 * the host through the tap, so an HTB class on the tap's egress shapes it (average rate, peak as ceiling,
 * burst); tc's `kbps` is kilobytes per second, Nova's unit. What the guest sends can only be policed where
 * it enters: libvirt uses tc's police action, which kernels built without act_police lack, so that limit
 * is an nftables token bucket in the port's bridge rules instead (nft-ruleset.ts), the same policing.
 */
import type { VifQos } from '../../../common/flavor-quota-specs.ts';
import type { HostCommands } from '../host-commands.ts';

/** The tc commands that give `tap` the inbound limit, after clearTcQos. */
export function tcQosCommands(tap: string, qos: VifQos): string[][] {
  const commands: string[][] = [];
  const inbound = qos.inbound;
  if (inbound) {
    commands.push(['tc', 'qdisc', 'replace', 'dev', tap, 'root', 'handle', '1:', 'htb', 'default', '1']);
    const klass = ['tc', 'class', 'replace', 'dev', tap, 'parent', '1:', 'classid', '1:1', 'htb'];
    klass.push('rate', `${inbound.averageKBps}kbps`);
    if (inbound.peakKBps !== null) klass.push('ceil', `${Math.max(inbound.peakKBps, inbound.averageKBps)}kbps`);
    if (inbound.burstKB !== null) klass.push('burst', `${inbound.burstKB}kb`);
    commands.push(klass);
  }
  return commands;
}

/** Removes any limits from the tap (a qdisc that is not there is not an error). */
export async function clearTcQos(host: HostCommands, tap: string): Promise<void> {
  await host.attempt(['tc', 'qdisc', 'del', 'dev', tap, 'root']);
}

/** Gives the tap the limits of its flavor (none: no qdiscs of ours on it). */
export async function applyTcQos(host: HostCommands, tap: string, qos: VifQos | null): Promise<void> {
  await clearTcQos(host, tap);
  if (qos?.inbound == null) return;
  for (const command of tcQosCommands(tap, qos)) await host.run(command);
}
