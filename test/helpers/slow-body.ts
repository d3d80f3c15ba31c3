/**
 * A client that sends a request body slowly, in pieces, and reads the answer only once it has written
 * everything, as most HTTP clients do: what a server that answers early and then closes looks like to
 * them (a reset, or an EPIPE on the next write, instead of the answer).
 */
import { connect } from 'node:net';

export interface SlowBodyOptions {
  port: number;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  /** Bytes of body to send. */
  size: number;
  /** Transfer-Encoding: chunked rather than a Content-Length. */
  chunked?: boolean;
  /** Bytes per write, one write per event-loop turn after the previous one was flushed. */
  piece?: number;
  /** Stop writing after this many bytes and wait (the server's time bound is then what ends it). */
  stallAfter?: number;
}

export interface SlowBodyResult {
  /** Everything the server sent, as text. */
  answer: string;
  /** The socket's error (ECONNRESET, EPIPE...), or null. */
  error: string | null;
  /** Body bytes written before the connection ended or the body was done. */
  written: number;
}

export function sendSlowBody(options: SlowBodyOptions): Promise<SlowBodyResult> {
  const piece = Buffer.alloc(options.piece ?? 32 * 1024, 0x20);
  return new Promise((resolve) => {
    const socket = connect({ port: options.port, host: '127.0.0.1', allowHalfOpen: true });
    socket.pause();
    let answer = '';
    let error: string | null = null;
    let written = 0;
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    socket.on('error', (err: NodeJS.ErrnoException) => (error ??= err.code ?? err.message));
    socket.on('close', () => resolve({ answer, error, written }));
    // The server has finished: so has this client (it half-closes, as allowHalfOpen keeps it from doing).
    socket.on('end', () => socket.end());
    const headers = {
      host: 'localhost',
      'content-type': 'application/json',
      ...(options.chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(options.size) }),
      ...options.headers,
    };
    socket.write(
      `${options.method ?? 'POST'} ${options.path} HTTP/1.1\r\n` +
        Object.entries(headers)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('') +
        '\r\n',
    );
    const next = () => {
      if (socket.destroyed || !socket.writable) return;
      if (options.stallAfter !== undefined && written >= options.stallAfter) {
        socket.resume();
        return;
      }
      if (written >= options.size) {
        if (options.chunked) socket.write('0\r\n\r\n');
        // Done writing: now read, as a client that writes before it reads does; no further request, so
        // the server closes once it has answered.
        socket.end();
        socket.resume();
        return;
      }
      const body = piece.subarray(0, Math.min(piece.length, options.size - written));
      written += body.length;
      const data = options.chunked
        ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n')])
        : body;
      socket.write(data, (err) => {
        if (!err) setImmediate(next);
      });
    };
    next();
  });
}

/** The status line's code, or null when nothing (or not HTTP) came back. */
export function statusOf(answer: string): number | null {
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(answer);
  return match ? Number(match[1]) : null;
}
