/**
 * Which acceleration guests get. /dev/kvm existing proves little: on some hosts it is a paravirtual KVM
 * that aborts with `-cpu host` and crawls with other CPU models. So the probe boots a few bytes of guest
 * code under KVM with `-cpu host` (the way guests would run) and trusts KVM only if that code runs and
 * exits through the isa-debug-exit device with the expected code. Anything else means TCG.
 */
import { execFile } from 'node:child_process';
import { access, constants, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Accel = 'kvm' | 'tcg';

export interface AccelChoice {
  accel: Accel;
  /** Why, for the log. */
  reason: string;
}

/** Exit status of QEMU when the probe code writes 0x2a to port 0xf4: (0x2a << 1) | 1. */
const PROBE_EXIT = 85;

/**
 * A 64 KiB "BIOS" whose reset vector runs `mov al, 0x2a; out 0xf4, al; hlt; jmp $`: the smallest guest
 * that proves the CPU executes guest code.
 */
function probeFirmware(): Buffer {
  const firmware = Buffer.alloc(65536, 0xf4);
  Buffer.from([0xb0, 0x2a, 0xe6, 0xf4, 0xf4, 0xeb, 0xfe]).copy(firmware, 65536 - 16);
  return firmware;
}

export async function chooseAccel(virtType: 'auto' | 'kvm' | 'qemu', binary: string): Promise<AccelChoice> {
  if (virtType === 'qemu') return { accel: 'tcg', reason: '[qemu] virt_type = qemu' };
  const kvmUsable = await access('/dev/kvm', constants.R_OK | constants.W_OK).then(
    () => true,
    () => false,
  );
  if (!kvmUsable) {
    if (virtType === 'kvm') throw new Error('[qemu] virt_type = kvm but /dev/kvm is missing or not writable');
    return { accel: 'tcg', reason: '/dev/kvm is missing or not writable' };
  }
  const result = await probeKvm(binary);
  if (result.ok) return { accel: 'kvm', reason: 'a probe guest ran under KVM with -cpu host' };
  if (virtType === 'kvm') throw new Error(`[qemu] virt_type = kvm but KVM cannot run a guest here: ${result.detail}`);
  return { accel: 'tcg', reason: `KVM cannot run a guest with -cpu host here (${result.detail})` };
}

async function probeKvm(binary: string): Promise<{ ok: boolean; detail: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'stratus-kvm-probe-'));
  try {
    const firmware = join(dir, 'probe.bin');
    await writeFile(firmware, probeFirmware());
    const args = [
      ...['-nodefaults', '-no-user-config', '-display', 'none', '-machine', 'pc', '-m', '16'],
      ...['-accel', 'kvm', '-cpu', 'host', '-bios', firmware],
      ...['-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'],
    ];
    return await new Promise((resolve) => {
      execFile(binary, args, { timeout: 10_000 }, (err, _stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        if (code === PROBE_EXIT) resolve({ ok: true, detail: '' });
        else {
          const why = stderr.trim().split('\n')[0] || (err?.killed ? 'timed out' : `exit ${String(code)}`);
          resolve({ ok: false, detail: why });
        }
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
