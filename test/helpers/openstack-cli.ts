/** Runs the real `openstack` CLI (python3-openstackclient) with the given credentials, as a user would. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { openCliRestSession, type CliRestSession } from './rest-session.ts';

const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The fields of `server show` that a move's test follows. */
export interface ServerPlacement {
  status: string;
  'OS-EXT-STS:task_state': string | null;
  'OS-EXT-SRV-ATTR:host': string | null;
}

/** A row of `server migration list` (2.80). */
export interface MigrationRow {
  Status: string;
  Type?: string;
  'Source Compute'?: string;
  'Dest Compute'?: string;
}

export class OpenstackCli {
  private restSession: Promise<CliRestSession> | undefined;

  constructor(private readonly env: Record<string, string>) {}

  /**
   * The same credentials over plain REST, for test harnesses' polling (see `openCliRestSession`). Opened
   * on first use and kept; a failed opening (the cloud not up yet) is tried again at the next call.
   */
  rest(): Promise<CliRestSession> {
    this.restSession ??= openCliRestSession(this.env).catch((err: unknown) => {
      this.restSession = undefined;
      throw err;
    });
    return this.restSession;
  }

  async run(...args: string[]): Promise<CliResult> {
    try {
      const { stdout, stderr } = await run('openstack', args, {
        env: { ...process.env, ...this.env },
        timeout: 60_000,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
      if (e.code === undefined || typeof e.code !== 'number') {
        throw new Error(`cannot run the openstack CLI (apt-get install -y python3-openstackclient): ${e.message}`);
      }
      return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  }

  /** Runs and parses `-f json` output; throws with stderr when the command fails. */
  async json<T>(...args: string[]): Promise<T> {
    const result = await this.ok(...args, '-f', 'json');
    return JSON.parse(result) as T;
  }

  async ok(...args: string[]): Promise<string> {
    const result = await this.run(...args);
    if (result.code !== 0) throw new Error(`openstack ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return result.stdout;
  }

  /**
   * `server create ... --wait -f json` (the server's name last in `args`): the server once ACTIVE.
   * When the server ends in ERROR, this CLI prints "Error creating server" instead of JSON (and may
   * still exit 0), so the error thrown carries what `server show` says, its fault included.
   */
  async createServerAndWait(...args: string[]): Promise<{ id: string; status: string } & Record<string, unknown>> {
    const result = await this.run('server', 'create', ...args, '--wait', '-f', 'json');
    if (result.code === 0 && result.stdout.trimStart().startsWith('{')) {
      return JSON.parse(result.stdout) as { id: string; status: string } & Record<string, unknown>;
    }
    const name = args[args.length - 1]!;
    const shown = await this.run('server', 'show', name, '-f', 'json');
    throw new Error(
      `server ${name} did not become ACTIVE (exit ${result.code}): ${result.stdout}${result.stderr}\n${shown.stdout}${shown.stderr}`,
    );
  }
}
