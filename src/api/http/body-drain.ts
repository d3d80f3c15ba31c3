/**
 * Answers that go out before the request body has all arrived (413 for a body over the limit, 415, a
 * 404 for a route that takes none): the rest of the body is read and dropped, within bounds, so that the
 * client can finish writing and then read the answer. Why: closing at once, as Fastify does for a body
 * over its limit, leaves unread bytes in the server's socket, which the kernel answers with a reset; a
 * client that writes the whole body before it reads (most HTTP clients) then sees ECONNRESET or EPIPE
 * instead of the 413. The connection is kept for further requests once the body has been read; a body
 * still arriving past `maxBytes` or `maxMs` is cut off (FIN, then the socket is destroyed a moment
 * later), so no request keeps a process reading.
 */
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface BodyDrainBounds {
  /** Bytes read and dropped after the answer before the connection is cut off. */
  maxBytes: number;
  /** How long after the answer the rest may take to arrive. */
  maxMs: number;
}

export const BODY_DRAIN: BodyDrainBounds = { maxBytes: 16 * 1024 * 1024, maxMs: 10_000 };

/** How long a cut-off connection is given for its FIN (and the answer before it) to leave before it is destroyed. */
const CUT_OFF_GRACE_MS = 1000;

/** For the APIs on Fastify: called as the answer is sent (onSend), drains what is left of the body. */
export function drainUnreadBody(request: FastifyRequest, reply: FastifyReply, bounds: BodyDrainBounds): void {
  if (!bodyStillArriving(request.raw)) return;
  // Fastify asks to close the connection after a refused body: Node would then close it at once, with
  // the body unread, which is the reset this avoids. The drain closes it instead when it must.
  if (String(reply.getHeader('connection') ?? '').toLowerCase() === 'close') reply.removeHeader('connection');
  drainRest(request.raw, bounds);
}

/**
 * Reads and drops what is left of `req`'s body until it ends, or cuts the connection off once
 * `bounds` are passed. Call it before the answer is written, with nothing else reading the body.
 */
export function drainRest(req: IncomingMessage, bounds: BodyDrainBounds = BODY_DRAIN): void {
  if (!bodyStillArriving(req)) return;
  const socket = req.socket;
  let drained = 0;
  const done = () => {
    clearTimeout(timer);
    req.off('data', count);
    req.off('end', done);
    socket.off('close', done);
  };
  const cutOff = () => {
    done();
    // Nothing more is read (the client's writes stall); the FIN tells it the answer is all there is.
    req.pause();
    socket.end();
    setTimeout(() => socket.destroy(), CUT_OFF_GRACE_MS).unref();
  };
  const count = (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > bounds.maxBytes) cutOff();
  };
  const timer = setTimeout(cutOff, bounds.maxMs);
  timer.unref();
  req.on('data', count);
  req.once('end', done);
  socket.once('close', done);
  req.resume();
}

/**
 * Whether part of `req`'s body is still to come over a live connection. Injected requests (Fastify's
 * inject, as the tests use) have no connection to keep or cut.
 */
function bodyStillArriving(req: IncomingMessage): req is IncomingMessage & { socket: Socket } {
  return req.socket instanceof Socket && !req.complete && !req.socket.destroyed;
}
