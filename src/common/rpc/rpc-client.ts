/**
 * The caller's side of RPC: cast (fire and forget), call (request/reply) and fanout, over any Transport.
 * A call registers a msg_id, sends its request with this client's reply queue as reply_to, and waits for
 * the matching reply, at most `responseTimeoutMs` (Nova's rpc_response_timeout) before MessagingTimeout.
 * If the transport loses its connection, calls in flight fail at once with MessageDeliveryFailure: their
 * replies could not reach a reply queue that died with the connection.
 */
import { randomUUID } from 'node:crypto';
import type { RequestContext } from '../context.ts';
import { getLogger } from '../log/logger.ts';
import { outcomeOf, rpcClientMessages } from '../metrics/metrics.ts';
import { decodeReply, encodeRequest } from './envelope.ts';
import { MessageDeliveryFailure, MessagingTimeout } from './errors.ts';
import { deserializeFailure } from './failure.ts';
import { queueName, type Target } from './target.ts';
import type { ReplyQueue, Transport } from './transport.ts';

const log = getLogger('rpc.client');

export interface RpcClientOptions {
  /** How long a call waits for its reply unless it says otherwise. */
  responseTimeoutMs: number;
  /**
   * How long a cast or fanout waits for a broker that is away (restarting) before it fails; default
   * `responseTimeoutMs`. Calls never wait: they fail at once, and their caller decides.
   */
  castWaitForBrokerMs?: number;
}

interface PendingCall {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  /** `'method' on 'queue'`, for error messages. */
  what: string;
}

export class RpcClient {
  private replyQueue: Promise<ReplyQueue> | null = null;
  private readonly pending = new Map<string, PendingCall>();
  private readonly stopListening: () => void;
  private closed = false;

  constructor(
    private readonly transport: Transport,
    private readonly opts: RpcClientOptions,
  ) {
    this.stopListening = transport.onConnectionChange((event) => {
      if (event.kind === 'lost') this.failAll(event.error.message);
    });
  }

  /**
   * Sends and returns once the transport has taken the message; the handler's outcome is not reported.
   * `version` is the contract version the message is written in (src/wire/contract.ts sets it).
   * The message is persistent and, should the broker be away, sent once it is back (at least once: a
   * send cut off before its confirm is sent again, so the handler may see it twice).
   */
  async cast(ctx: RequestContext, target: Target, method: string, args: object, version?: string): Promise<void> {
    this.assertOpen();
    await timed(target.topic, method, 'cast', () =>
      this.transport.publish(queueName(target), encodeRequest(ctx, method, args, undefined, version), {
        persistent: true,
        waitForBrokerMs: this.castPatience(),
      }),
    );
  }

  private castPatience(): number {
    return this.opts.castWaitForBrokerMs ?? this.opts.responseTimeoutMs;
  }

  /** Sends to every server listening on `topic`. */
  async fanout(ctx: RequestContext, topic: string, method: string, args: object, version?: string): Promise<void> {
    this.assertOpen();
    await timed(topic, method, 'fanout', () =>
      this.transport.publishFanout(topic, encodeRequest(ctx, method, args, undefined, version), {
        waitForBrokerMs: this.castPatience(),
      }),
    );
  }

  /** Sends and waits for the handler's result; its error is re-raised here (see failure.ts). */
  async call<R>(
    ctx: RequestContext,
    target: Target,
    method: string,
    args: object,
    opts: { timeoutMs?: number; version?: string } = {},
  ): Promise<R> {
    this.assertOpen();
    return timed(target.topic, method, 'call', () => this.send<R>(ctx, target, method, args, opts));
  }

  private async send<R>(
    ctx: RequestContext,
    target: Target,
    method: string,
    args: object,
    opts: { timeoutMs?: number; version?: string },
  ): Promise<R> {
    const replyTo = (await this.ensureReplyQueue()).name;
    const queue = queueName(target);
    const msgId = randomUUID().replaceAll('-', '');
    const timeoutMs = opts.timeoutMs ?? this.opts.responseTimeoutMs;
    const body = encodeRequest(ctx, method, args, { msgId, replyTo }, opts.version);
    const what = `'${method}' on '${queue}'`;
    // Registered before sending: the reply can arrive before publish() has resolved.
    const reply = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(msgId);
        reject(
          new MessagingTimeout(
            `Timed out after ${timeoutMs / 1000} s waiting for a reply to ${what} (message ID ${msgId}, via ${this.transport.description})`,
          ),
        );
      }, timeoutMs);
      this.pending.set(msgId, { resolve, reject, timer, what });
    });
    // The connection can be lost while publish() waits: failAll() then rejects the reply before anything
    // awaits it, and publish()'s own error is the one raised. Marked handled so that no rejection is left
    // unhandled (awaiting it below still sees it).
    reply.catch(() => undefined);
    log.debug({ msg_id: msgId, method, queue, request_id: ctx.requestId }, 'rpc call');
    try {
      await this.transport.publish(queue, body);
    } catch (err) {
      this.forget(msgId);
      throw err;
    }
    return (await reply) as R;
  }

  /** Fails the calls still waiting and drops the reply queue; the transport stays open (it is shared). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopListening();
    this.failAll('RPC client closed');
    const replyQueue = this.replyQueue;
    this.replyQueue = null;
    if (replyQueue) await (await replyQueue.catch(() => null))?.cancel();
  }

  private assertOpen(): void {
    if (this.closed) throw new MessageDeliveryFailure('RPC client is closed');
  }

  /** Created on the first call, as oslo.messaging does, so cast-only clients cost the broker nothing. */
  private ensureReplyQueue(): Promise<ReplyQueue> {
    if (!this.replyQueue) {
      const created = this.transport.createReplyQueue((body) => this.onReply(body));
      this.replyQueue = created;
      // Let the next call try again rather than keep a failed promise forever.
      created.catch(() => {
        if (this.replyQueue === created) this.replyQueue = null;
      });
    }
    return this.replyQueue;
  }

  private async onReply(body: string): Promise<void> {
    const decoded = decodeReply(body);
    if (!decoded.ok) {
      log.error({ problem: decoded.problem }, 'dropped a malformed RPC reply');
      return;
    }
    const reply = decoded.message;
    const call = this.forget(reply.msg_id);
    if (!call) {
      // Its call timed out or failed already; Nova logs the same and drops it.
      log.info({ msg_id: reply.msg_id }, 'dropped a reply nobody waits for any more');
      return;
    }
    if (reply.failure) call.reject(deserializeFailure(reply.failure));
    else call.resolve(reply.result);
  }

  private forget(msgId: string): PendingCall | undefined {
    const call = this.pending.get(msgId);
    if (call) {
      clearTimeout(call.timer);
      this.pending.delete(msgId);
    }
    return call;
  }

  private failAll(reason: string): void {
    for (const [msgId, call] of this.pending) {
      this.forget(msgId);
      call.reject(
        new MessageDeliveryFailure(
          `${reason}. No reply can arrive for ${call.what} (message ID ${msgId}); the remote side may or may not have run it`,
        ),
      );
    }
  }
}

/** Runs `send` and records its duration and outcome (stratus_rpc_client_duration_seconds). */
async function timed<T>(topic: string, method: string, kind: string, send: () => Promise<T>): Promise<T> {
  const end = rpcClientMessages.startTimer({ topic, method, kind });
  try {
    const result = await send();
    end({ outcome: 'ok' });
    return result;
  } catch (err) {
    end({ outcome: outcomeOf(err) });
    throw err;
  }
}
