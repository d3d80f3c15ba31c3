/**
 * A RabbitMQ and a MariaDB of a test's own, for tests and benchmarks that kill or restart them: each on
 * ports of its own, with its data under a scratch directory, so the machine's broker and database (and
 * every other test using them) are never disturbed.
 *
 * RabbitMQ runs from its scripts in /usr/lib/rabbitmq/bin (the /usr/sbin wrapper would switch to the
 * `rabbitmq` user and the system's node) with a node name, AMQP and distribution ports, mnesia and log
 * directories, config file and HOME (so its own Erlang cookie) of its own; only epmd is shared, where
 * the node registers under its own name. MariaDB gets a data directory made by mariadb-install-db, a
 * port, a socket and a pid file of its own; root connects from 127.0.0.1 without a password.
 *
 * `kill()` is kill -9 of the server process (the data stays, as after a crash); `start()` again brings
 * it back on the same ports with the same data; `remove()` kills it and deletes the directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort } from './free-port.ts';

const run = promisify(execFile);
const RABBIT_BIN = process.env['STRATUS_TEST_RABBITMQ_BIN'] ?? '/usr/lib/rabbitmq/bin';

export interface PrivateServer {
  readonly port: number;
  /** The URL services are given (`transport_url` or the `[database] connection` server part). */
  readonly url: string;
  /** Starts the server (again) on the same port and data; resolves once it accepts connections. */
  start(): Promise<void>;
  /** kill -9 of the server; resolves once it is gone. */
  kill(): Promise<void>;
  /** kill() then start(). */
  restart(): Promise<void>;
  /** Kills it and deletes its data: safe to call more than once. */
  remove(): Promise<void>;
  /** The server's last output, for a failure message. */
  output(): string;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number, output: () => string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up in ${timeoutMs} ms:\n${output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** Common life cycle: a child process, its pid file (the real server may be a grandchild), kill -9. */
class ServerProcess implements PrivateServer {
  private child: ChildProcess | null = null;
  private text = '';
  private removed = false;

  constructor(
    readonly port: number,
    readonly url: string,
    readonly dir: string,
    private readonly what: string,
    private readonly command: () => { file: string; args: string[]; env: NodeJS.ProcessEnv },
    private readonly pidFile: string,
    private readonly ready: () => Promise<boolean>,
    private readonly startTimeoutMs: number,
  ) {}

  output(): string {
    return this.text;
  }

  async start(): Promise<void> {
    if (this.removed) throw new Error(`${this.what} was removed`);
    if (this.child) throw new Error(`${this.what} is already started`);
    rmSync(this.pidFile, { force: true });
    const { file, args, env } = this.command();
    const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keep = (d: Buffer) => (this.text = (this.text + d.toString()).slice(-50_000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
    await waitFor(
      this.what,
      async () => (await this.ready()) || this.failed(child),
      this.startTimeoutMs,
      () => this.output(),
    );
    if (this.child !== child) throw new Error(`${this.what} exited while starting:\n${this.output().slice(-3000)}`);
  }

  private async failed(child: ChildProcess): Promise<boolean> {
    return child.exitCode !== null || child.signalCode !== null;
  }

  /** The server process: the one in the pid file, else the child itself. */
  private serverPid(): number | null {
    try {
      const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0) return pid;
    } catch {
      // not written yet
    }
    return this.child?.pid ?? null;
  }

  async kill(): Promise<void> {
    const child = this.child;
    const pid = this.serverPid();
    if (pid !== null && pidAlive(pid)) process.kill(pid, 'SIGKILL');
    if (child && child.pid !== pid && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (child && child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    const deadline = Date.now() + 10_000;
    while (pid !== null && pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    this.child = null;
    // The port is free once the listener is gone; a start right after must not find it taken.
    await waitFor(
      `${this.what} to release its port`,
      async () => !(await accepts(this.port)),
      10_000,
      () => '',
    );
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  async remove(): Promise<void> {
    if (this.removed) return;
    await this.kill().catch(() => undefined);
    this.removed = true;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A RabbitMQ node of its own; guest/guest on 127.0.0.1:`port`, vhost `/`. */
export async function startPrivateRabbit(): Promise<PrivateServer> {
  const dir = mkdtempSync(join(tmpdir(), 'stratus-rabbit-'));
  const port = await freePort();
  let dist = await freePort();
  while (dist === port) dist = await freePort();
  const home = join(dir, 'home');
  mkdirSync(home);
  writeFileSync(join(home, '.erlang.cookie'), `stratus${port}${Date.now()}`, { mode: 0o400 });
  writeFileSync(join(dir, 'rabbitmq.conf'), [`listeners.tcp.default = 127.0.0.1:${port}`, ''].join('\n'));
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  const home3 = readdirSync('/usr/lib/rabbitmq/lib').find((d) => d.startsWith('rabbitmq_server-'));
  const node = `stratus-test-${port}@localhost`;
  const pidFile = join(dir, 'rabbit.pid');
  const server = new ServerProcess(
    port,
    `rabbit://guest:guest@127.0.0.1:${port}/`,
    dir,
    `RabbitMQ on port ${port}`,
    () => ({
      file: join(RABBIT_BIN, 'rabbitmq-server'),
      args: [],
      env: {
        HOME: home,
        ...(home3 ? { RABBITMQ_HOME: join('/usr/lib/rabbitmq/lib', home3) } : {}),
        RABBITMQ_NODENAME: node,
        RABBITMQ_NODE_PORT: String(port),
        RABBITMQ_DIST_PORT: String(dist),
        RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(dir, 'log'),
        RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
        RABBITMQ_PID_FILE: pidFile,
        // Console logging only: the output is kept for failure messages.
        RABBITMQ_LOGS: '-',
      },
    }),
    pidFile,
    () => accepts(port),
    120_000,
  );
  return startedOrRemoved(server);
}

/** A MariaDB server of its own; root without a password on 127.0.0.1:`port`. */
export async function startPrivateMariadb(): Promise<PrivateServer> {
  const dir = mkdtempSync(join(tmpdir(), 'stratus-mariadb-'));
  const port = await freePort();
  const data = join(dir, 'data');
  // A tmpdir of its own: a MariaDB server starting deletes every `#sql*` file in its tmpdir, which
  // with the default /tmp were the temporary tables of the shared server other tests were querying.
  const scratch = join(dir, 'tmp');
  mkdirSync(scratch);
  try {
    await run('mariadb-install-db', [
      '--no-defaults',
      `--datadir=${data}`,
      `--tmpdir=${scratch}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      ...(process.getuid?.() === 0 ? ['--user=root'] : []),
    ]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`mariadb-install-db failed (apt-get install mariadb-server): ${(err as Error).message}`);
  }
  const pidFile = join(dir, 'mariadb.pid');
  const server = new ServerProcess(
    port,
    `mysql+pymysql://root@127.0.0.1:${port}`,
    dir,
    `MariaDB on port ${port}`,
    () => ({
      file: existsSync('/usr/sbin/mariadbd') ? '/usr/sbin/mariadbd' : 'mariadbd',
      args: [
        '--no-defaults',
        `--datadir=${data}`,
        `--tmpdir=${scratch}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(dir, 'mariadb.sock')}`,
        `--pid-file=${pidFile}`,
        '--skip-name-resolve',
        '--innodb-buffer-pool-size=64M',
        '--max-connections=500',
        ...(process.getuid?.() === 0 ? ['--user=root'] : []),
      ],
      env: {},
    }),
    pidFile,
    () => accepts(port),
    60_000,
  );
  return startedOrRemoved(server);
}

/** Starts a new server; one that fails to start leaves no process nor directory behind. */
async function startedOrRemoved(server: ServerProcess): Promise<PrivateServer> {
  try {
    await server.start();
  } catch (err) {
    await server.remove();
    throw err;
  }
  return server;
}
