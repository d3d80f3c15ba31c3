/**
 * Root commands of the datapath (ip, nft, tc, sysctl, dnsmasq), run with execFile (no shell: names and
 * addresses come from the network service and are never interpreted), inside the datapath's network
 * namespace when it has one.
 */
import { execFile } from 'node:child_process';

/** `argv` as it must be started to run inside `namespace` (null: the host's own namespace). */
export function inNamespace(namespace: string | null, argv: readonly string[]): string[] {
  return namespace === null ? [...argv] : ['ip', 'netns', 'exec', namespace, ...argv];
}

export class HostCommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')}: ${stderr.trim() || 'failed'}`);
  }
}

export class HostCommands {
  constructor(readonly namespace: string | null) {}

  /** Runs a command in the namespace; throws HostCommandError with its stderr when it fails. */
  run(argv: readonly string[], input?: string): Promise<string> {
    const full = inNamespace(this.namespace, argv);
    return new Promise((resolve, reject) => {
      const child = execFile(full[0]!, full.slice(1), { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (error) reject(new HostCommandError(full, stderr || error.message));
        else resolve(stdout);
      });
      if (input !== undefined) child.stdin?.end(input);
    });
  }

  /** Runs a command whose failure means only "nothing to do" (deleting what is already gone). */
  async attempt(argv: readonly string[]): Promise<boolean> {
    try {
      await this.run(argv);
      return true;
    } catch (error) {
      if (error instanceof HostCommandError) return false;
      throw error;
    }
  }

  /** Creates the namespace when the datapath has one and it does not exist yet. */
  async ensureNamespace(): Promise<void> {
    if (this.namespace === null) return;
    const existing = await new HostCommands(null).run(['ip', 'netns', 'list']);
    const names = existing.split('\n').map((line) => line.split(' ')[0]);
    if (!names.includes(this.namespace)) await new HostCommands(null).run(['ip', 'netns', 'add', this.namespace]);
  }
}
