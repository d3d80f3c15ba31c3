/**
 * Which acceleration guests get. /dev/kvm existing proves little: on some hosts it is a paravirtual KVM
 * that aborts with `-cpu host`, crawls with other CPU models, or runs real-mode code and then hangs as a
 * kernel switches to protected mode. So the probe runs in two steps, both under KVM with `-cpu host` (the
 * way guests would run): a few bytes of real-mode code must exit through the isa-debug-exit device with
 * the expected code, and then a Linux kernel of the host (/boot/vmlinuz-*, where there is one) must print
 * its banner on the serial console within a few seconds. Anything else means TCG.
 *
 * The kernel step costs a second where KVM works and its timeout where it hangs, so the answer is kept
 * for the host's boot (keyed by /proc's boot_id, the emulator and the kernel) in the temporary directory:
 * every compute started since reads it instead of probing again.
 */
import { execFile, spawn } from 'node:child_process';
import { access, constants, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
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
  const result = await probeKvmCached(binary);
  if (result.ok) return { accel: 'kvm', reason: 'a probe guest ran under KVM with -cpu host' };
  if (virtType === 'kvm') throw new Error(`[qemu] virt_type = kvm but KVM cannot run a guest here: ${result.detail}`);
  return { accel: 'tcg', reason: `KVM cannot run a guest with -cpu host here (${result.detail})` };
}

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

/** How long a kernel may take to print its banner under KVM: a working KVM needs well under a second. */
const KERNEL_BANNER_TIMEOUT_MS = 8_000;
const KERNEL_BANNER = 'Linux version';

async function probeKvmCached(binary: string): Promise<ProbeResult> {
  const kernel = await hostKernel();
  const bootId = await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => null);
  const cacheFile = bootId
    ? join(
        tmpdir(),
        `stratus-kvm-probe-${createHash('sha256')
          .update(JSON.stringify([bootId.trim(), binary, kernel, kernel ? (await stat(kernel)).mtimeMs : 0]))
          .digest('hex')
          .slice(0, 16)}.json`,
      )
    : null;
  if (cacheFile) {
    const cached = await readFile(cacheFile, 'utf8').then(
      (text) => JSON.parse(text) as ProbeResult,
      () => null,
    );
    if (cached && typeof cached.ok === 'boolean' && typeof cached.detail === 'string') return cached;
  }
  const result = await probeKvm(binary, kernel);
  if (cacheFile) await writeFile(cacheFile, JSON.stringify(result)).catch(() => undefined);
  return result;
}

/** The newest Linux kernel image in /boot, or null where the host keeps none. */
async function hostKernel(): Promise<string | null> {
  const names = await readdir('/boot').catch(() => [] as string[]);
  const kernels = names.filter((n) => n.startsWith('vmlinuz-')).sort();
  return kernels.length ? join('/boot', kernels[kernels.length - 1]!) : null;
}

async function probeKvm(binary: string, kernel: string | null): Promise<ProbeResult> {
  const realMode = await probeRealMode(binary);
  if (!realMode.ok || !kernel) return realMode;
  return probeKernelBanner(binary, kernel);
}

/** Boots `kernel` under KVM with no disk and waits for its banner on the serial console. */
export function probeKernelBanner(
  binary: string,
  kernel: string,
  timeoutMs = KERNEL_BANNER_TIMEOUT_MS,
): Promise<ProbeResult> {
  const args = [
    ...['-nodefaults', '-no-user-config', '-display', 'none', '-machine', 'pc', '-m', '128', '-no-reboot'],
    ...['-accel', 'kvm', '-cpu', 'host', '-serial', 'stdio', '-kernel', kernel],
    ...['-append', 'console=ttyS0 earlyprintk=ttyS0 panic=-1'],
  ];
  return new Promise((resolve) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let settled = false;
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve(result);
    };
    const timer = setTimeout(
      () => finish({ ok: false, detail: `a Linux kernel printed nothing under KVM within ${timeoutMs} ms` }),
      timeoutMs,
    );
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (chunk: string) => {
      output = (output + chunk).slice(-4096);
      if (output.includes(KERNEL_BANNER)) finish({ ok: true, detail: '' });
    });
    child.stderr.resume();
    child.on('error', (err) => finish({ ok: false, detail: err.message }));
    child.on('exit', (code) =>
      finish({ ok: false, detail: `qemu exited (${String(code)}) before a kernel printed its banner under KVM` }),
    );
  });
}

async function probeRealMode(binary: string): Promise<ProbeResult> {
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
