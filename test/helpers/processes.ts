/**
 * Stratus service processes for multi-process tests: started through the real `bin/` launchers,
 * output kept for the failure message, and every one killed by `stopAll()` so no process leaks.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { packageRoot } from '../../src/common/package-root.ts';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const runFile = promisify(execFile);
const ROOT = packageRoot();

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
}

export class ProcessGroup {
  private readonly processes = new Set<ServiceProcess>();

  /** `root`: the checkout whose launcher runs (another release's, in the rolling upgrade test). */
  start(
    name: string,
    bin: 'stratus' | 'stratus-manage',
    args: string[],
    env: NodeJS.ProcessEnv = {},
    root: string = ROOT,
  ): ServiceProcess {
    const child = spawn(process.execPath, [`${root}/bin/${bin}.js`, ...args], {
      cwd: root,
      env: { ...process.env, STRATUS_LOG_FORMAT: 'json', STRATUS_LOG_LEVEL: 'info', NODE_TEST_CONTEXT: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout!.on('data', (d: Buffer) => (text = (text + d.toString()).slice(-200_000)));
    child.stderr!.on('data', (d: Buffer) => (text = (text + d.toString()).slice(-200_000)));
    const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
    const proc: ServiceProcess = { name, child, output: () => text, exited };
    this.processes.add(proc);
    void exited.then(() => this.processes.delete(proc));
    return proc;
  }

  /** The running process started under `name`, for its output. */
  get(name: string): ServiceProcess | undefined {
    return [...this.processes].find((p) => p.name === name);
  }

  /** Runs a command to completion; throws with its output if it fails. */
  async runToEnd(name: string, bin: 'stratus' | 'stratus-manage', args: string[]): Promise<string> {
    const proc = this.start(name, bin, args);
    const code = await proc.exited;
    if (code !== 0) throw new Error(`${bin} ${args.join(' ')} exited ${code}:\n${proc.output()}`);
    return proc.output();
  }

  /** The last output of every running process, by name: for the message of a test that timed out. */
  outputs(tail = 3000): string {
    return [...this.processes].map((p) => `--- ${p.name}\n${p.output().slice(-tail)}`).join('\n');
  }

  async stopAll(): Promise<void> {
    const all = [...this.processes];
    for (const p of all) p.child.kill('SIGKILL');
    await Promise.all(all.map((p) => p.exited));
  }
}

export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 30_000,
  describe?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${describe ? `\n${describe()}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Whether process `pid` runs: it exists and is not a zombie. */
export function processRuns(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** Live (not zombie) qemu processes started for the guest `uuid` (its uuid is on their command line). */
export async function qemuProcessesOf(uuid: string): Promise<number> {
  const { stdout } = await runFile('ps', ['-eo', 'stat=,args=']);
  return stdout.split('\n').filter((line) => !line.startsWith('Z') && line.includes(`-uuid ${uuid}`)).length;
}
