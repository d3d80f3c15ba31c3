/**
 * The callee's side of RPC: one server of a topic listens on `topic` (shared with the topic's other
 * servers, each message to one of them), `topic.server` (messages for it alone) and the fanout of `topic`.
 *
 * A message is acknowledged once its handler has been dispatched, not when it finishes: a handler that
 * crashes the process mid-way is not retried, and one that gets redelivered (after a connection loss)
 * may run twice, so handlers must be idempotent. At most `concurrency` handlers run at once; messages
 * beyond that wait unacknowledged, which is what the transport's prefetch bounds.
 *
 * Nothing a message contains can stop the server: malformed JSON, a bad envelope, an unknown method or
 * invalid args are logged (and, for a call, answered with the error) and the message acknowledged.
 */
import { Compile, type Validator } from 'typebox/compile';
import type { RequestContext } from '../context.ts';
import { getLogger, withRequestContext } from '../log/logger.ts';
import { rpcServerMessages } from '../metrics/metrics.ts';
import type { RpcEndpoints } from './endpoint.ts';
import { decodeRequest, encodeReply, type Failure, type RequestMessage } from './envelope.ts';
import { InvalidRpcArguments, UnsupportedRpcMethod, UnsupportedRpcVersion } from './errors.ts';
import { serializeFailure } from './failure.ts';
import { Limiter } from './limiter.ts';
import type { Subscription, Transport } from './transport.ts';
import { BASE_VERSION, canRead, isRpcVersion, type RpcVersion } from './version.ts';

const log = getLogger('rpc.server');

export interface RpcServerOptions {
  topic: string;
  /** This server's name within the topic, usually the host name. */
  server: string;
  endpoints: RpcEndpoints;
  /**
   * The version of the contract the endpoints implement: a message written in a newer one (or another
   * major) is refused with both versions named. Default BASE_VERSION.
   */
  version?: string;
  /** Handlers run at once at most (Nova's executor_thread_pool_size). Default 64. */
  concurrency?: number;
}

export class RpcServer {
  private readonly topic: string;
  private readonly server: string;
  private readonly endpoints: RpcEndpoints;
  private readonly version: string;
  private readonly concurrency: number;
  private readonly limiter: Limiter;
  private readonly validators = new Map<string, Validator>();
  private subscriptions: Subscription[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly transport: Transport,
    opts: RpcServerOptions,
  ) {
    this.topic = opts.topic;
    this.server = opts.server;
    this.endpoints = opts.endpoints;
    this.version = opts.version ?? BASE_VERSION;
    this.concurrency = opts.concurrency ?? 64;
    this.limiter = new Limiter(this.concurrency);
    // Compiled once here so a bad schema fails at start-up, not on the first message.
    for (const [name, ep] of Object.entries(this.endpoints)) this.validators.set(name, Compile(ep.args));
  }

  async start(): Promise<void> {
    const opts = { prefetch: this.concurrency };
    const deliver = (body: string): Promise<void> => this.dispatch(body);
    try {
      this.subscriptions.push(await this.transport.consume(this.topic, deliver, opts));
      this.subscriptions.push(await this.transport.consume(`${this.topic}.${this.server}`, deliver, opts));
      this.subscriptions.push(await this.transport.listenFanout(this.topic, deliver, opts));
    } catch (err) {
      await this.stop();
      throw err;
    }
    log.info({ topic: this.topic, server: this.server, transport: this.transport.description }, 'RPC server started');
  }

  /** Stops consuming, then waits for every handler already dispatched or delivered to finish. */
  async stop(): Promise<void> {
    const subscriptions = this.subscriptions.splice(0);
    await Promise.all(subscriptions.map((sub) => sub.cancel()));
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Resolves (and so acknowledges the message) once a slot is free and the handler has started. */
  private async dispatch(body: string): Promise<void> {
    await this.limiter.acquire();
    const run: Promise<void> = this.handle(body)
      .catch((err: unknown) => log.error({ err }, 'RPC dispatch failed'))
      .finally(() => {
        this.limiter.release();
        this.inFlight.delete(run);
      });
    this.inFlight.add(run);
  }

  private async handle(body: string): Promise<void> {
    const decoded = decodeRequest(body);
    if (!decoded.ok) {
      log.error(
        { topic: this.topic, problem: decoded.problem, body: body.slice(0, 500) },
        'dropped a malformed RPC message',
      );
      return;
    }
    const msg = decoded.message;
    await withRequestContext(msg.context, async () => {
      const outcome = await this.invoke(msg.context, msg);
      if (msg.msg_id === undefined || msg.reply_to === undefined) return;
      await this.reply(msg.reply_to, msg.msg_id, outcome);
    });
  }

  private async invoke(ctx: RequestContext, msg: RequestMessage): Promise<{ result: unknown } | { failure: Failure }> {
    const kind = msg.msg_id === undefined ? 'cast' : 'call';
    // An unknown method is labelled as such, so a sender cannot grow the label set at will.
    const method = Object.hasOwn(this.endpoints, msg.method) ? msg.method : '<unknown>';
    const end = rpcServerMessages.startTimer({ topic: this.topic, method, kind });
    try {
      log.debug({ method: msg.method, msg_id: msg.msg_id }, 'rpc message received');
      const result = await this.run(ctx, msg.method, msg.args, this.checkVersion(msg));
      end({ outcome: 'ok' });
      return { result };
    } catch (err) {
      const failure = serializeFailure(err);
      end({ outcome: failure.class });
      // A cast has nobody to tell, so its failure is logged loudly; a call's is the caller's to report.
      log[kind === 'cast' ? 'error' : 'info'](
        {
          method: msg.method,
          class: failure.class,
          error: failure.message,
          trace: kind === 'cast' ? failure.trace : undefined,
        },
        `rpc ${kind} failed`,
      );
      return { failure };
    }
  }

  /** A message from a release before versions were carried has none: it is the base version. */
  private checkVersion(msg: RequestMessage): RpcVersion {
    const version = msg.version ?? BASE_VERSION;
    if (!isRpcVersion(version) || !canRead(this.version, version)) {
      throw new UnsupportedRpcVersion(
        `The '${this.topic}' RPC server speaks ${this.topic} ${this.version} and cannot read '${msg.method}' ` +
          `written in ${this.topic} ${version} (upgrade this service, or cap the sender with [upgrade_levels] ${this.topic})`,
      );
    }
    return version;
  }

  private async run(ctx: RequestContext, method: string, received: unknown, version: RpcVersion): Promise<unknown> {
    // Object.hasOwn, so 'constructor' or '__proto__' is an unknown method, not a property of Object.
    const ep = Object.hasOwn(this.endpoints, method) ? this.endpoints[method] : undefined;
    const validator = this.validators.get(method);
    if (!ep || !validator) {
      throw new UnsupportedRpcMethod(
        `The '${this.topic}' RPC server has no method '${method}' (it has: ${Object.keys(this.endpoints).join(', ') || 'none'})`,
      );
    }
    const args = ep.prepare ? ep.prepare(received) : received;
    if (!validator.Check(args)) {
      const first = validator.Errors(args)[0];
      const problem = first ? `${first.instancePath || '/'} ${first.message}` : 'does not match the schema';
      throw new InvalidRpcArguments(`Invalid arguments for '${this.topic}.${method}': ${problem}`);
    }
    return ep.handler(ctx, args, version);
  }

  private async reply(
    replyTo: string,
    msgId: string,
    outcome: { result: unknown } | { failure: Failure },
  ): Promise<void> {
    let body: string;
    try {
      body = encodeReply(msgId, outcome);
    } catch (err) {
      // A result JSON cannot carry (a BigInt, a cycle) is the handler's bug: tell the caller so.
      body = encodeReply(msgId, { failure: serializeFailure(err) });
    }
    try {
      await this.transport.publish(replyTo, body);
    } catch (err) {
      // The caller timed out or went away with its reply queue; nothing more to do.
      log.warn({ msg_id: msgId, reply_to: replyTo, err: (err as Error).message }, 'could not send an RPC reply');
    }
  }
}
