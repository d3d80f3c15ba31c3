/**
 * A running qemu guest's diagnostics (Nova's get_instance_diagnostics), read from the guest's qemu and
 * the host's /proc: vCPU time from each vCPU thread's CPU time (QMP query-cpus-fast names the threads),
 * per-disk I/O from query-blockstats, memory from query-balloon (the guest's memory size when it has no
 * balloon), uptime from the qemu process's start. Guests have no NICs yet, so none are listed.
 */
import { readFile } from 'node:fs/promises';
import { powerStateName, type GuestDiagnostics } from '../../../wire/messages/guest-diagnostics.ts';
import type { QmpClient } from './qmp-client.ts';

/** Linux's USER_HZ, the unit of the times in /proc/<pid>/stat (100 on every mainstream architecture). */
const CLOCK_TICKS_PER_SEC = 100;
const NS_PER_TICK = 1e9 / CLOCK_TICKS_PER_SEC;

export interface DiagnosedGuest {
  pid: number;
  powerState: number;
  memoryMb: number;
  /** 'kvm' or 'qemu' (TCG): what libvirt's virt_type would say. */
  hypervisor: string;
  /** It has a config drive. */
  configDrive?: boolean;
}

export async function qemuDiagnostics(qmp: QmpClient, guest: DiagnosedGuest): Promise<GuestDiagnostics> {
  const [vcpus, blockstats, balloon, uptime] = await Promise.all([
    qmp.execute('query-cpus-fast', {}),
    qmp.execute('query-blockstats', {}),
    qmp.execute('query-balloon', {}).catch(() => null),
    processUptimeSec(guest.pid),
  ]);
  const cpuDetails = await Promise.all(
    vcpus.map(async (vcpu) => ({
      id: vcpu['cpu-index'],
      time: await threadCpuNs(guest.pid, vcpu['thread-id']),
      utilisation: null,
    })),
  );
  return {
    state: powerStateName(guest.powerState),
    // The API's 2.48 format names libvirt as the only driver of a qemu guest; Stratus drives qemu over
    // QMP as libvirt does, and the closest value is libvirt's.
    driver: 'libvirt',
    hypervisor: guest.hypervisor,
    hypervisor_os: 'linux',
    uptime,
    config_drive: guest.configDrive === true,
    memory_details: {
      maximum: guest.memoryMb,
      used: balloon ? Math.round(balloon.actual / 1024 ** 2) : guest.memoryMb,
    },
    cpu_details: cpuDetails,
    nic_details: [],
    // qemu names -drive if=virtio devices virtio0, virtio1, ...: the guest sees them as vda, vdb, ...
    disk_details: blockstats
      .filter((block) => /^virtio\d+$/.test(block.device))
      .map((block) => ({
        device: `vd${String.fromCharCode(97 + Number(block.device.slice('virtio'.length)))}`,
        read_bytes: block.stats.rd_bytes,
        read_requests: block.stats.rd_operations,
        write_bytes: block.stats.wr_bytes,
        write_requests: block.stats.wr_operations,
        errors_count: (block.stats.failed_rd_operations ?? 0) + (block.stats.failed_wr_operations ?? 0),
      })),
  };
}

/** The fields of a /proc stat line after the command name (which may hold spaces and parentheses). */
function statFields(text: string): string[] {
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime of one thread of the qemu process, in nanoseconds; null if it cannot be read. */
async function threadCpuNs(pid: number, tid: number): Promise<number | null> {
  try {
    const fields = statFields(await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
    // utime and stime are fields 14 and 15 of stat(5); the slice starts at field 3.
    return (Number(fields[11]) + Number(fields[12])) * NS_PER_TICK;
  } catch {
    return null;
  }
}

/** Seconds since the qemu process started: the host's uptime less the process's start time (field 22). */
async function processUptimeSec(pid: number): Promise<number | null> {
  try {
    const [stat, hostUptime] = await Promise.all([
      readFile(`/proc/${pid}/stat`, 'utf8'),
      readFile('/proc/uptime', 'utf8'),
    ]);
    const startedTicks = Number(statFields(stat)[19]);
    return Math.max(0, Math.floor(Number(hostUptime.split(' ')[0]) - startedTicks / CLOCK_TICKS_PER_SEC));
  } catch {
    return null;
  }
}
