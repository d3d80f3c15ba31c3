/**
 * A small Redis client: the RESP2 commands the shared token cache and the rate limiter use, pipelined on
 * one connection. Written here rather than taken from npm because those few commands are all Stratus
 * needs. A command that cannot be answered (no connection, a timeout, an error reply) rejects; callers
 * treat the cache as absent then, so Redis being down never refuses a request that the database can answer.
 */
import { connect, type Socket } from 'node:net';

export type RedisReply = string | number | null | RedisReply[];

export class RedisError extends Error {}

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username: string | null;
  password: string | null;
}

/** redis://[[user]:password@]host[:port][/db], as redis-py and dogpile.cache.redis read it. */
export function parseRedisUrl(raw: string): RedisTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`'${raw}' is not a URL; expected redis://[:password@]host[:port][/db]`);
  }
  if (url.protocol !== 'redis:') throw new Error(`expected a redis:// URL, got '${raw}'`);
  if (!url.hostname) throw new Error(`'${raw}' names no host`);
  const path = url.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d+$/.test(path)) throw new Error(`'${raw}': the path must be a database number`);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : 6379,
    db: path ? Number(path) : 0,
    username: url.username ? decodeURIComponent(url.username) : null,
    password: url.password ? decodeURIComponent(url.password) : null,
  };
}

interface Pending {
  resolve: (reply: RedisReply) => void;
  reject: (err: Error) => void;
}

export interface RedisClientOptions {
  /** Milliseconds a command may take before it is failed (and the connection dropped). */
  timeoutMs?: number;
}

export class RedisClient {
  readonly #target: RedisTarget;
  readonly #timeoutMs: number;
  #socket: Socket | null = null;
  #ready: Promise<void> | null = null;
  #pending: Pending[] = [];
  #buffer: Buffer = Buffer.alloc(0);
  #closed = false;

  constructor(target: RedisTarget, options: RedisClientOptions = {}) {
    this.#target = target;
    this.#timeoutMs = options.timeoutMs ?? 1000;
  }

  /** Sends one command; resolves with its reply, rejects on an error reply or a lost connection. */
  async command(...args: (string | number)[]): Promise<RedisReply> {
    if (this.#closed) throw new RedisError('the Redis client is closed');
    await this.#connect();
    return this.#send(args);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#drop(new RedisError('the Redis client is closed'));
  }

  #connect(): Promise<void> {
    this.#ready ??= new Promise<void>((resolve, reject) => {
      const socket = connect({ host: this.#target.host, port: this.#target.port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => socket.destroy(new RedisError('timed out connecting to Redis')), this.#timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      // Events of a connection already replaced by a newer one must not touch the newer one.
      const current = () => this.#socket === socket;
      socket.on('data', (chunk) => current() && this.#onData(chunk));
      const fail = (err: Error) => {
        clearTimeout(timer);
        reject(err);
        if (current()) this.#drop(err);
      };
      socket.on('error', fail);
      socket.on('close', () => fail(new RedisError('the connection to Redis closed')));
      this.#socket = socket;
    }).then(async () => {
      const { username, password, db } = this.#target;
      if (password !== null) await this.#send(username ? ['AUTH', username, password] : ['AUTH', password]);
      if (db !== 0) await this.#send(['SELECT', db]);
    });
    // A failed connection is forgotten, so the next command tries again.
    this.#ready.catch(() => undefined);
    return this.#ready;
  }

  #send(args: (string | number)[]): Promise<RedisReply> {
    const socket = this.#socket;
    if (!socket) return Promise.reject(new RedisError('not connected to Redis'));
    return new Promise<RedisReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        // Replies come in order: once one is late, the rest cannot be matched safely.
        this.#drop(new RedisError(`Redis did not answer ${String(args[0])} within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#pending.push({
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      socket.write(encodeCommand(args));
    });
  }

  /** Fails every pending command and forgets the connection. */
  #drop(err: Error): void {
    const pending = this.#pending;
    this.#pending = [];
    this.#buffer = Buffer.alloc(0);
    this.#ready = null;
    const socket = this.#socket;
    this.#socket = null;
    socket?.destroy();
    for (const p of pending) p.reject(err);
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    for (;;) {
      let parsed: { reply: RedisReply | RedisError; end: number } | null;
      try {
        parsed = parseReply(this.#buffer, 0);
      } catch (err) {
        this.#drop(err as Error);
        return;
      }
      if (!parsed) return;
      this.#buffer = this.#buffer.subarray(parsed.end);
      const next = this.#pending.shift();
      if (!next) {
        this.#drop(new RedisError('Redis sent a reply nothing asked for'));
        return;
      }
      if (parsed.reply instanceof RedisError) next.reject(parsed.reply);
      else next.resolve(parsed.reply);
    }
  }
}

export function encodeCommand(args: readonly (string | number)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.from(String(arg), 'utf8');
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** One reply from `start`, or null when the buffer does not hold all of it yet. */
export function parseReply(buf: Buffer, start: number): { reply: RedisReply | RedisError; end: number } | null {
  const lineEnd = buf.indexOf('\r\n', start);
  if (lineEnd < 0) return null;
  const type = String.fromCharCode(buf[start]!);
  const line = buf.toString('utf8', start + 1, lineEnd);
  const after = lineEnd + 2;
  switch (type) {
    case '+':
      return { reply: line, end: after };
    case '-':
      return { reply: new RedisError(line), end: after };
    case ':':
      return { reply: Number(line), end: after };
    case '$': {
      const length = Number(line);
      if (length < 0) return { reply: null, end: after };
      if (buf.length < after + length + 2) return null;
      return { reply: buf.toString('utf8', after, after + length), end: after + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { reply: null, end: after };
      const items: RedisReply[] = [];
      let failed: RedisError | null = null;
      let at = after;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, at);
        if (!item) return null;
        // An error inside an array (a failed command of a transaction) fails the whole reply.
        if (item.reply instanceof RedisError) failed ??= item.reply;
        else items.push(item.reply);
        at = item.end;
      }
      return { reply: failed ?? items, end: at };
    }
    default:
      throw new RedisError(`cannot read a Redis reply starting with '${type}'`);
  }
}
