/** Facts about qemu processes: whether a guest's qemu still runs, its QMP run state as a power state, the version. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { PowerState } from '../../../wire/messages/instance-states.ts';

const run = promisify(execFile);

/** Whether `pid` is this guest's qemu: alive, not a zombie, and started for this uuid (pids get reused). */
export function isQemuAlive(pid: number, uuid: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(uuid);
  } catch {
    return false;
  }
}

export function powerStateOf(status: string): number {
  switch (status) {
    case 'running':
      return PowerState.RUNNING;
    case 'paused':
    case 'prelaunch':
    case 'inmigrate':
      return PowerState.PAUSED;
    case 'suspended':
      return PowerState.SUSPENDED;
    case 'guest-panicked':
    case 'internal-error':
      return PowerState.CRASHED;
    default:
      return PowerState.SHUTDOWN;
  }
}

/** `QEMU emulator version 7.2.22 (...)` -> Nova's encoding 7002022. */
export async function qemuVersion(binary: string): Promise<{ text: string; number: number }> {
  let stdout: string;
  try {
    ({ stdout } = await run(binary, ['--version']));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`${binary} is not installed; install the Debian package qemu-system-x86`);
    }
    throw err;
  }
  const match = /version (\d+)\.(\d+)\.(\d+)/.exec(stdout);
  if (!match) throw new Error(`cannot read the version of ${binary} from: ${stdout.trim()}`);
  const [major, minor, micro] = match.slice(1).map(Number) as [number, number, number];
  return { text: `${major}.${minor}.${micro}`, number: major * 1_000_000 + minor * 1000 + micro };
}
