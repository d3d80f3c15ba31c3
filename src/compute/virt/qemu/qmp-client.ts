/**
 * A small client of the QEMU Machine Protocol over a unix socket: the greeting and capabilities
 * handshake, typed commands answered in order, and asynchronous events (SHUTDOWN, STOP, RESUME, ...)
 * delivered to listeners. QMP answers commands in the order they were sent, and events may arrive
 * between a command and its answer, so answers are matched to a FIFO of pending commands.
 */
import { EventEmitter } from 'node:events';
import { createConnection, type Socket } from 'node:net';

/** The commands the driver uses, with their arguments and what they return. */
export interface QmpCommands {
  qmp_capabilities: { args: Record<string, never>; returns: Record<string, never> };
  'query-status': { args: Record<string, never>; returns: { status: string; running: boolean } };
  system_powerdown: { args: Record<string, never>; returns: Record<string, never> };
  system_reset: { args: Record<string, never>; returns: Record<string, never> };
  stop: { args: Record<string, never>; returns: Record<string, never> };
  cont: { args: Record<string, never>; returns: Record<string, never> };
  quit: { args: Record<string, never>; returns: Record<string, never> };
  /** Streams the guest's state to `uri` (`exec:` a shell command on QEMU 7.2). */
  migrate: { args: { uri: string }; returns: Record<string, never> };
  'query-migrate': {
    args: Record<string, never>;
    returns: {
      status?: string;
      'error-desc'?: string;
      'total-time'?: number;
      downtime?: number;
      ram?: { total?: number; transferred?: number; remaining?: number };
    };
  };
  // Live migration (live-migration.ts).
  'migrate-incoming': { args: { uri: string }; returns: Record<string, never> };
  migrate_cancel: { args: Record<string, never>; returns: Record<string, never> };
  'nbd-server-start': {
    args: { addr: { type: 'inet'; data: { host: string; port: string } } };
    returns: Record<string, never>;
  };
  'nbd-server-add': { args: { device: string; writable: boolean }; returns: Record<string, never> };
  'nbd-server-stop': { args: Record<string, never>; returns: Record<string, never> };
  'drive-mirror': {
    args: {
      'job-id': string;
      device: string;
      target: string;
      format: string;
      mode: 'existing';
      sync: 'top' | 'full';
      'copy-mode': 'write-blocking' | 'background';
    };
    returns: Record<string, never>;
  };
  'query-block-jobs': {
    args: Record<string, never>;
    returns: { device: string; ready: boolean; len?: number; offset?: number }[];
  };
  'block-job-cancel': { args: { device: string; force?: boolean }; returns: Record<string, never> };
  'query-block': { args: Record<string, never>; returns: QmpBlockInfo[] };
  block_set_io_throttle: { args: QmpIoThrottle & { device: string }; returns: Record<string, never> };
  'query-cpus-fast': { args: Record<string, never>; returns: { 'cpu-index': number; 'thread-id': number }[] };
  'query-blockstats': { args: Record<string, never>; returns: QmpBlockStats[] };
  /** Fails (CommandNotFound or DeviceNotActive) when the guest has no balloon device. */
  'query-balloon': { args: Record<string, never>; returns: { actual: number } };
  /** A non-maskable interrupt to the guest's CPUs (trigger_crash_dump). */
  'inject-nmi': { args: Record<string, never>; returns: Record<string, never> };
  'query-vnc': { args: Record<string, never>; returns: { enabled: boolean; host?: string; service?: string } };
  /** The block graph's nodes; `flat` leaves out each node's nested backing chain. */
  'query-named-block-nodes': { args: { flat: boolean }; returns: QmpBlockNode[] };
  /** An external snapshot: `node-name` becomes the backing file of a new overlay qemu creates. */
  'blockdev-snapshot-sync': {
    args: {
      'node-name': string;
      'snapshot-file': string;
      'snapshot-node-name': string;
      format: 'qcow2';
      mode: 'absolute-paths';
    };
    returns: Record<string, never>;
  };
  /** Copies into `device` the data of the nodes between it and `base-node` (all, without one), then drops them. */
  'block-stream': {
    args: { 'job-id': string; device: string; 'base-node'?: string; 'auto-dismiss': boolean };
    returns: Record<string, never>;
  };
  'query-jobs': { args: Record<string, never>; returns: { id: string; status: string; error?: string }[] };
  'job-dismiss': { args: { id: string }; returns: Record<string, never> };
  /** A network backend; a tap one opens (or creates) the host's tap device `ifname`. */
  netdev_add: {
    args: { type: 'tap'; id: string; ifname: string; script: 'no'; downscript: 'no' };
    returns: Record<string, never>;
  };
  netdev_del: { args: { id: string }; returns: Record<string, never> };
  /** Hot-plugs a device; for a NIC, its driver (virtio-net-pci), backend and MAC. */
  device_add: { args: { driver: string; id: string; netdev: string; mac: string }; returns: Record<string, never> };
  /** Asks the guest to release a device; DEVICE_DELETED follows once it has (guest-nics.ts). */
  device_del: { args: { id: string }; returns: Record<string, never> };
}

/** A node of the block graph: a format node (qcow2, raw) or the protocol node (file) under it. */
export interface QmpBlockNode {
  'node-name': string;
  file: string;
  drv: string;
}

/** The I/O limits of a block device (0: unlimited), as block_set_io_throttle sets and query-block shows them. */
export interface QmpIoThrottle {
  bps: number;
  bps_rd: number;
  bps_wr: number;
  iops: number;
  iops_rd: number;
  iops_wr: number;
}

/** One block device's I/O counters since its qemu started. */
export interface QmpBlockStats {
  device: string;
  stats: {
    rd_bytes: number;
    wr_bytes: number;
    rd_operations: number;
    wr_operations: number;
    failed_rd_operations?: number;
    failed_wr_operations?: number;
  };
}

export interface QmpBlockInfo {
  device: string;
  qdev?: string;
  inserted?: QmpIoThrottle & { file: string };
}

export type QmpCommandName = keyof QmpCommands;

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
}

/** QMP answered a command with an error (its `class` and `desc`). */
export class QmpCommandError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    desc: string,
  ) {
    super(`QMP ${command} failed: ${errorClass}: ${desc}`);
  }
}

interface Pending {
  command: string;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

type QmpMessage =
  | { QMP: unknown }
  | { return: unknown; id?: unknown }
  | { error: { class: string; desc: string } }
  | { event: string; data?: Record<string, unknown> };

export class QmpClient {
  private readonly pending: Pending[] = [];
  private readonly events = new EventEmitter();
  private buffer = '';
  private closedError: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    // QEMU quitting can reset the socket instead of closing it; either way the monitor is gone, and
    // callers match on one message rather than on whichever the kernel reported first.
    socket.on('error', (err) => this.handleClose(new Error(`QMP connection closed (${err.message})`, { cause: err })));
    socket.on('close', () => this.handleClose(new Error('QMP connection closed')));
  }

  /**
   * Connects to the socket at `path`, reads the greeting and negotiates capabilities. QEMU serves one
   * monitor client at a time and greets the next only when the current one leaves, so the greeting is
   * awaited at most `timeoutMs`.
   */
  static async connect(path: string, timeoutMs = 10_000): Promise<QmpClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection(path);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
    const client = new QmpClient(socket);
    const timer = setTimeout(() => {
      client.handleClose(new Error(`no QMP greeting on ${path} within ${timeoutMs} ms (another client connected?)`));
      socket.destroy();
    }, timeoutMs);
    try {
      // The greeting comes first, unasked: a pending entry that no command was sent for receives it.
      await new Promise((resolve, reject) => client.pending.push({ command: 'greeting', resolve, reject }));
      await client.execute('qmp_capabilities', {});
    } finally {
      clearTimeout(timer);
    }
    return client;
  }

  /** Sends one command and resolves with its return value; rejects with QmpCommandError on error. */
  execute<C extends QmpCommandName>(command: C, args: QmpCommands[C]['args']): Promise<QmpCommands[C]['returns']> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.pending.push({ command, resolve: resolve as (v: unknown) => void, reject });
      const message = Object.keys(args).length ? { execute: command, arguments: args } : { execute: command };
      this.socket.write(`${JSON.stringify(message)}\n`);
    });
  }

  /** Calls `listener` for every event QEMU sends from now on. */
  onEvent(listener: (event: QmpEvent) => void): void {
    this.events.on('event', listener);
  }

  /**
   * The next event named `name` whose data `matches`, within `timeoutMs`. Call it before the command that
   * causes the event, which may arrive before the command's answer. `cancel` stops waiting (the promise
   * then never settles); the connection closing rejects it.
   */
  waitForEvent(
    name: string,
    matches: (data: Record<string, unknown> | undefined) => boolean,
    timeoutMs: number,
  ): { promise: Promise<QmpEvent>; cancel(): void } {
    let stop = () => {};
    const promise = new Promise<QmpEvent>((resolve, reject) => {
      const onEvent = (event: QmpEvent) => {
        if (event.event !== name || !matches(event.data)) return;
        stop();
        resolve(event);
      };
      const onClose = (err: Error) => {
        stop();
        reject(err);
      };
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`no ${name} event within ${timeoutMs} ms`));
      }, timeoutMs);
      stop = () => {
        clearTimeout(timer);
        this.events.off('event', onEvent);
        this.events.off('close', onClose);
      };
      if (this.closedError) return onClose(this.closedError);
      this.events.on('event', onEvent);
      this.events.once('close', onClose);
    });
    // A cancelled or unobserved wait must not surface as an unhandled rejection.
    promise.catch(() => undefined);
    return { promise, cancel: () => stop() };
  }

  /** Calls `listener` once when the connection ends (QEMU exited or the socket closed). */
  onClose(listener: (err: Error) => void): void {
    if (this.closedError) listener(this.closedError);
    else this.events.once('close', listener);
  }

  private handleClose(arg: Error): void {
    if (this.closedError) return;
    this.closedError = arg;
    for (const p of this.pending.splice(0)) p.reject(new Error(`${arg.message} before ${p.command} answered`));
    this.events.emit('close', arg);
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  /** Closes our end; QEMU keeps running and accepts the next client. */
  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let newline: number;
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (line) this.onMessage(JSON.parse(line) as QmpMessage);
    }
  }

  private onMessage(message: QmpMessage): void {
    if ('event' in message) {
      this.events.emit('event', { event: message.event, ...(message.data ? { data: message.data } : {}) });
      return;
    }
    const pending = this.pending.shift();
    if (!pending) return;
    if ('error' in message)
      pending.reject(new QmpCommandError(pending.command, message.error.class, message.error.desc));
    else if ('return' in message) pending.resolve(message.return);
    else pending.resolve(message.QMP);
  }
}
