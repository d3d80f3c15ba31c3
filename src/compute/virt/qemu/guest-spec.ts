/**
 * What a guest is made of, written beside it as guest.json when it is built: enough to start it again
 * (power on, reboot, after a compute restart) and to remove everything it owns, without the database.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Accel } from './accel-probe.ts';
import type { ConfigDriveFormat } from './config-drive.ts';
import { guestAgentArguments, type GuestAgent } from './guest-agent.ts';
import type { GuestQos } from './guest-qos.ts';
import { nicArguments, type GuestNic } from './guest-nics.ts';
import { smbiosArguments } from './guest-smbios.ts';

export interface GuestDisk {
  path: string;
  format: 'raw' | 'qcow2';
  role: 'root' | 'ephemeral' | 'swap';
}

/**
 * A rescue under way (rescue.ts): recorded before the guest is touched, so a restarted service knows to
 * complete it; `disk` and the boot files once the rescue disk exists. While it is, the guest boots the
 * rescue disk first and its own root disk second.
 */
export interface RescueRecord {
  imageRef: string;
  disk: string | null;
  kernel: string | null;
  ramdisk: string | null;
  commandLine: string | null;
  /** Files of the image cache the rescue boot uses: never aged out while it lasts. */
  baseFiles: string[];
}

/**
 * A link of the root disk's chain (disk-chain.ts) as guest.json records it; qcow2, as the root disk
 * always is. (guest.json of earlier versions also holds its `format`, which nothing reads.)
 */
export interface DiskLink {
  /** The disk snapshot's id (the API's). */
  id: string;
  /** Its frozen file: the disk as it was when the snapshot was taken. */
  path: string;
}

export interface GuestSpec {
  uuid: string;
  nodename: string;
  vcpus: number;
  memoryMb: number;
  disks: GuestDisk[];
  /** Where the disks are (diskDirectory's choice when the guest was built); removed with the guest. */
  diskDirectory: string;
  /** Direct kernel boot (AMI-style images): the cached kernel, ramdisk and the command line. */
  kernel: string | null;
  ramdisk: string | null;
  commandLine: string | null;
  /** Files of the image cache this guest uses (its disks' bases, kernel, ramdisk): never aged out. */
  baseFiles: string[];
  /** Disk and CPU limits and CPU pinning, applied on every start (absent in guests built before QoS). */
  qos?: GuestQos;
  /**
   * Disk snapshots (disk-chain.ts): the frozen links under the root disk, oldest first; the root disk's
   * path is then the active overlay above the last. Absent or empty: no snapshots.
   */
  diskSnapshots?: DiskLink[];
  /**
   * A disk snapshot being taken: written before qemu switches to the new overlay, so that a compute
   * service restarted in between knows the file (QemuDriver settles it when it finds the guest again).
   */
  pendingDiskSnapshot?: { id: string; overlay: string };
  /** The guest is rescued, or a rescue has begun (rescue.ts). */
  rescue?: RescueRecord;
  /** Its NICs, in the guest's order (guest-nics.ts); absent in guests built before networking: none. */
  nics?: GuestNic[];
  /**
   * A resize or cold migration of the guest awaits its confirm or revert (guest-moves.ts): on the
   * source, whether the destination is this same host (the guest's old disks and guest.json then wait in
   * its directory's resize backup).
   */
  move?: { sameHost: boolean };
  /** Its config drive (config-drive.ts), attached read-only after the disks; absent: none. */
  configDrive?: { path: string; format: ConfigDriveFormat };
  /** The QEMU guest agent's channel (guest-agent.ts), when the image asks for it; absent: none. */
  guestAgent?: GuestAgent;
}

/** Writes guest.json whole or not at all (a new file renamed over the old), as it changes under running guests. */
export async function writeGuestSpec(path: string, spec: GuestSpec): Promise<void> {
  const partial = `${path}.part`;
  await writeFile(partial, `${JSON.stringify(spec, null, 2)}\n`, { mode: 0o600 });
  await rename(partial, path);
}

export async function readGuestSpec(path: string): Promise<GuestSpec | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as GuestSpec;
  } catch {
    return null;
  }
}

/** The qemu-system-x86_64 arguments that start the guest, daemonized, controlled over QMP. */
export function qemuArguments(
  spec: GuestSpec,
  files: { qmpSocket: string; agentSocket: string; pidfile: string; consoleLog: string },
  machine: { accel: Accel; machineType: string; tbSizeMb: number; vncListen?: string | null },
  /**
   * A state file suspend saved: the guest starts from it instead of booting. `live`: it waits, paused
   * (-S), for a live migration's stream (migrate-incoming, live-migration.ts).
   */
  incoming: string | 'live' | null = null,
): string[] {
  const accel =
    machine.accel === 'kvm'
      ? ['-accel', 'kvm', '-cpu', 'host']
      : ['-accel', machine.tbSizeMb > 0 ? `tcg,tb-size=${machine.tbSizeMb}` : 'tcg'];
  const args = [
    ...['-name', `guest=${spec.uuid},debug-threads=on`, '-uuid', spec.uuid],
    ...['-nodefaults', '-no-user-config', '-display', 'none', '-machine', machine.machineType, ...accel],
    ...['-m', String(spec.memoryMb), '-smp', String(spec.vcpus)],
    ...smbiosArguments(spec.uuid),
    // The serial console goes to a file (os-getConsoleOutput); appended, so reboots keep earlier output.
    ...[
      '-chardev',
      `file,id=console,path=${qemuOptionValue(files.consoleLog)},append=on`,
      '-serial',
      'chardev:console',
    ],
    ...['-qmp', `unix:${qemuOptionValue(files.qmpSocket)},server=on,wait=off`, '-pidfile', files.pidfile, '-daemonize'],
  ];
  if (spec.kernel) {
    args.push('-kernel', spec.kernel);
    if (spec.ramdisk) args.push('-initrd', spec.ramdisk);
    if (spec.commandLine) args.push('-append', spec.commandLine);
  }
  if (incoming === 'live') args.push('-incoming', 'defer', '-S');
  else if (incoming) args.push('-incoming', `exec:cat ${shellQuote(incoming)}`);
  if (machine.vncListen) args.push('-vnc', vncArgument(machine.vncListen));
  args.push(...DISPLAY_DEVICE);
  for (const disk of spec.disks) {
    args.push(
      '-drive',
      `file=${qemuOptionValue(disk.path)},if=virtio,format=${disk.format},cache=writeback,discard=unmap`,
    );
  }
  if (spec.configDrive) args.push(...configDriveArguments(spec.configDrive));
  // Before the NICs: a NIC plugged later takes the next PCI slot, after all of these, on every start.
  if (spec.guestAgent) args.push(...guestAgentArguments(files.agentSocket));
  args.push(...nicArguments(spec.nics ?? []));
  return args;
}

/**
 * The config drive as Nova's libvirt driver attaches it on x86: an ISO 9660 one as a CD-ROM on the IDE
 * bus (hdd, the secondary slave, as Nova's disk.config), which every kernel reads with ata_piix and sr_mod;
 * a vfat one as one more virtio disk. Read-only either way: the guest cannot change what it is told.
 */
function configDriveArguments(drive: NonNullable<GuestSpec['configDrive']>): string[] {
  const file = `file=${qemuOptionValue(drive.path)},format=raw,readonly=on`;
  return drive.format === 'vfat' ? ['-drive', `${file},if=virtio`] : ['-drive', `${file},if=ide,index=3,media=cdrom`];
}

/**
 * The guest's screen, what its VNC console shows: the standard VGA card (text mode is a memory page TCG
 * writes like any other, and the kernel's VGA console needs no driver of its own). At a fixed PCI slot past
 * those qemu hands out in order, so adding it moved no disk or NIC of guests started before it had one, and
 * a hot-plugged device never takes its place. Every guest has it, VNC or not, so the devices of a guest are
 * the same on every host it moves to (suspend, migration).
 */
const DISPLAY_DEVICE = ['-device', 'VGA,addr=0x1e'];

/** Highest VNC display qemu may take: display N listens on port 5900 + N, and ports end at 65535. */
const LAST_VNC_DISPLAY = 65535 - 5900;

/**
 * The guest's VNC server on `listen`, at the first free display from 0 up (`to=`): qemu binds it itself,
 * so guests never collide with each other or with other processes holding a port. The port it took is
 * asked of the running qemu (QMP query-vnc), which also finds it again after a compute restart.
 */
function vncArgument(listen: string): string {
  const host = listen.includes(':') ? `[${listen}]` : listen;
  return `${host}:0,to=${LAST_VNC_DISPLAY}`;
}

/** A value inside a QEMU option list, where a comma separates options unless doubled. */
function qemuOptionValue(value: string): string {
  return value.replaceAll(',', ',,');
}

/** One shell word, for the commands of `exec:` migration URIs (QEMU runs them with /bin/sh -c). */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}
