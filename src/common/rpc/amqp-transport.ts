/**
 * The RabbitMQ transport (AMQP 0-9-1, amqplib).
 *
 * Layout on the broker, Nova's: a topic queue is a plain queue of that name (`conductor`,
 * `compute.host1`) reached through the default exchange, kept while unused; a fanout is an exchange
 * `<topic>_fanout` with one exclusive auto-delete queue per listener; each RPC client has an exclusive
 * reply queue `reply_<uuid>`.
 *
 * Topic queues are durable (oslo.messaging's `amqp_durable_queues = true`) and casts are sent persistent,
 * so a cast the broker confirmed outlives a broker restart, even a kill -9. A queue left non-durable by an
 * older release on the same broker cannot be re-declared durable (PRECONDITION_FAILED): it is deleted and
 * declared again when it is empty and nobody consumes it, else consumed as it is, with a warning, until a
 * later reconnect finds it empty (a broker restart drops it anyway). See docs/operator-guide.md.
 *
 * Publishing (amqp-publisher.ts) uses a confirm channel and the mandatory flag: a message to a queue nobody has declared is
 * returned by the broker, so a call to `compute.nosuchhost` fails at once with MessageDeliveryFailure
 * instead of waiting out its timeout. (A queue that exists but whose consumer is gone still holds the
 * message, and the call ends in MessagingTimeout, as in Nova.)
 *
 * Broker restarts: when the connection drops, listeners get a `lost` event (the RPC client fails its
 * calls in flight with it), and a reconnect loop with exponential backoff tries the brokers in order.
 * A publish with `waitForBrokerMs` (casts) waits for the reconnect and sends again, also when the
 * connection died before the broker confirmed it (so it may arrive twice: handlers are idempotent);
 * any other publish fails fast with MessageDeliveryFailure (no buffering: a caller should know its
 * message was not sent). Once connected it re-declares every queue, exchange and binding and
 * re-attaches every consumer under the same queue names, then emits `restored`. A channel that fails on
 * its own (a queue deleted under a consumer, say) resets the whole connection, so there is one recovery
 * path and it is the one the tests exercise.
 */
import { randomUUID } from 'node:crypto';
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { ServiceUnavailable } from '../errors.ts';
import { getLogger } from '../log/logger.ts';
import { AmqpPublisher, isUnroutable } from './amqp-publisher.ts';
import { describeError, MessageDeliveryFailure } from './errors.ts';
import type { AmqpHost } from './transport-url.ts';
import type {
  ConnectionEvent,
  ConsumeOptions,
  DeliveryHandler,
  PublishOptions,
  ReplyQueue,
  Subscription,
  Transport,
} from './transport.ts';
import { UnackedCount } from './unacked-count.ts';

const log = getLogger('rpc.amqp');

export interface AmqpTransportOptions {
  /** Brokers to try, in order; the first reachable one wins. */
  hosts: AmqpHost[];
  vhost: string;
  /** The transport_url with the password masked, for messages. */
  description: string;
  /** Shown by `rabbitmqctl list_connections client_properties` and the management UI (`stratus-compute:host1`). */
  connectionName?: string;
  /** AMQP heartbeat; a dead TCP connection is noticed after about twice this. Default 10. */
  heartbeatSeconds?: number;
  /** Per-broker TCP/handshake timeout. Default 5000. */
  connectTimeoutMs?: number;
  /** First reconnect delay, doubled per failed attempt up to reconnectMaxDelayMs. Default 200. */
  reconnectInitialDelayMs?: number;
  /** Default 10000. */
  reconnectMaxDelayMs?: number;
}

/** One live connection; `dead` is set by its close event so stale ones are recognised. */
interface Conn {
  model: ChannelModel;
  label: string;
  dead: boolean;
  publisher: AmqpPublisher;
}

/** A consumer as the application asked for it; re-attached to each new connection. */
class Sub {
  channel: Channel | null = null;
  consumerTag: string | null = null;
  cancelled = false;
  /** Set while a topic queue is being declared, whose refusal closes the channel on purpose. */
  declaring = false;
  readonly unacked = new UnackedCount();

  constructor(
    readonly kind: 'queue' | 'fanout' | 'reply',
    readonly queue: string,
    readonly handler: DeliveryHandler,
    readonly prefetch: number,
    readonly exchange: string = '',
  ) {}
}

export class AmqpTransport implements Transport {
  readonly description: string;
  private state: 'new' | 'connected' | 'reconnecting' | 'closed' = 'new';
  private conn: Conn | null = null;
  private readonly subs = new Set<Sub>();
  private readonly listeners = new Set<(event: ConnectionEvent) => void>();
  private reconnectTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private lastError = '';
  private connecting: Promise<void> | null = null;

  constructor(private readonly opts: AmqpTransportOptions) {
    this.description = opts.description;
  }

  async connect(): Promise<void> {
    if (this.state === 'connected' || this.state === 'reconnecting') return;
    if (this.state === 'closed') throw new MessageDeliveryFailure(`Transport ${this.description} is closed`);
    // Two services starting on one transport at once must not open two connections.
    this.connecting ??= this.connectOnce().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async connectOnce(): Promise<void> {
    let conn: Conn;
    try {
      conn = await this.establish();
    } catch (err) {
      const brokers = this.opts.hosts.map((h) => `${h.host}:${h.port}`).join(', ');
      throw new ServiceUnavailable(
        `Cannot connect to RabbitMQ at ${brokers} (transport_url ${this.description}): ${describeError(err)}. ${this.hint(describeError(err))}`,
      );
    }
    this.conn = conn;
    this.state = 'connected';
  }

  /** What to do about a failed connect, by what the failure looks like. */
  private hint(failure: string): string {
    if (/ACCESS.REFUSED/.test(failure)) {
      return 'The broker refused the user or password: check them in transport_url (`rabbitmqctl list_users`).';
    }
    if (/ConnectionOpenOk|NOT_ALLOWED/.test(failure)) {
      return `The broker refused the virtual host '${this.opts.vhost}': create it (\`rabbitmqctl add_vhost\`) or fix transport_url.`;
    }
    return 'Is RabbitMQ running? Start it with `rabbitmq-server -detached` and check it with `rabbitmqctl status`.';
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    // Closing the connection returns unacknowledged messages to their queues and drops the exclusive
    // ones; waiting for consumers to drain is the RPC server's job (stop()), not the transport's.
    for (const sub of this.subs) sub.cancelled = true;
    this.subs.clear();
    const conn = this.conn;
    this.conn = null;
    this.emit({ kind: 'lost', error: new MessageDeliveryFailure(`Transport ${this.description} was closed`) });
    if (conn && !conn.dead) await conn.model.close().catch(() => {});
  }

  async publish(queue: string, body: string, opts: PublishOptions = {}): Promise<void> {
    await this.sending(opts, (conn) => conn.publisher.send('', queue, body, `queue '${queue}'`, opts.persistent));
  }

  async publishFanout(topic: string, body: string, opts: PublishOptions = {}): Promise<void> {
    await this.sending(opts, (conn) =>
      conn.publisher.send(`${topic}_fanout`, '', body, `fanout '${topic}'`, opts.persistent),
    );
  }

  /**
   * Sends through the current connection; with `waitForBrokerMs`, a send that failed for want of a
   * connection (lost before, or before the confirm) is tried again once the transport has reconnected,
   * until that much time has passed. A message the broker returned (no such queue) is not retried.
   */
  private async sending(opts: PublishOptions, send: (conn: Conn) => Promise<void>): Promise<void> {
    const patience = opts.waitForBrokerMs ?? 0;
    const deadline = Date.now() + patience;
    for (let attempt = 1; ; attempt++) {
      try {
        await send(this.requireConnection());
        if (attempt > 1) log.info({ attempt }, 'message sent after the connection to RabbitMQ came back');
        return;
      } catch (err) {
        if (isUnroutable(err) || this.state === 'new' || this.state === 'closed') throw err;
        if (Date.now() >= deadline) {
          if (patience === 0) throw err;
          throw new MessageDeliveryFailure(`${describeError(err)} (gave up after trying for ${patience} ms)`);
        }
        await this.connectedAgain(deadline);
      }
    }
  }

  /**
   * Resolves once the transport is connected (after a short pause if it still looks connected: the
   * close event of a dying connection may not have arrived yet), or at `deadline`, or when closed.
   */
  private connectedAgain(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const pause = this.connected ? 100 : Math.max(0, deadline - Date.now());
      const done = (): void => {
        clearTimeout(timer);
        stop();
        resolve();
      };
      const timer = setTimeout(done, pause);
      const stop = this.onConnectionChange((event) => {
        if (event.kind === 'restored' || this.state === 'closed') done();
      });
    });
  }

  async publishNotification(exchange: string, topic: string, body: string): Promise<void> {
    await this.requireConnection().publisher.notify(exchange, topic, body);
  }

  get connected(): boolean {
    return this.state === 'connected' && this.conn !== null && !this.conn.dead;
  }

  async consume(queue: string, handler: DeliveryHandler, opts: ConsumeOptions): Promise<Subscription> {
    return this.subscribe(new Sub('queue', queue, handler, opts.prefetch));
  }

  async listenFanout(topic: string, handler: DeliveryHandler, opts: ConsumeOptions): Promise<Subscription> {
    const sub = new Sub('fanout', `${topic}_fanout_${randomUUID()}`, handler, opts.prefetch, `${topic}_fanout`);
    return this.subscribe(sub);
  }

  async createReplyQueue(handler: DeliveryHandler): Promise<ReplyQueue> {
    const sub = new Sub('reply', `reply_${randomUUID()}`, handler, 0);
    const subscription = await this.subscribe(sub);
    return { name: sub.queue, cancel: () => subscription.cancel() };
  }

  onConnectionChange(listener: (event: ConnectionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // --- connection and recovery -------------------------------------------------------------------

  /** Connects to the first reachable broker and attaches every known consumer to it. */
  private async establish(): Promise<Conn> {
    const failures: string[] = [];
    for (const host of this.opts.hosts) {
      const label = `${host.host}:${host.port}`;
      let conn: Conn;
      try {
        conn = await this.open(host, label);
      } catch (err) {
        failures.push(`${label}: ${describeError(err)}`);
        continue;
      }
      try {
        for (const sub of this.subs) await this.attach(conn, sub);
        if (conn.dead) throw new Error('connection closed while declaring queues');
        if (this.isClosed()) throw new Error('transport closed while connecting');
      } catch (err) {
        failures.push(`${label}: ${describeError(err)}`);
        await conn.model.close().catch(() => {});
        if (this.isClosed()) break;
        continue;
      }
      return conn;
    }
    throw new Error(failures.join('; '));
  }

  private async open(host: AmqpHost, label: string): Promise<Conn> {
    const model = await connect(
      {
        protocol: 'amqp',
        hostname: host.host,
        port: host.port,
        username: host.username,
        password: host.password,
        vhost: this.opts.vhost,
        heartbeat: this.opts.heartbeatSeconds ?? 10,
      },
      {
        timeout: this.opts.connectTimeoutMs ?? 5000,
        // Without it Nagle's algorithm holds a small frame (a reply after an ack) until the broker's delayed
        // ACK, about 40 ms: every RPC call took that long.
        noDelay: true,
        clientProperties: { connection_name: this.opts.connectionName ?? `stratus:${process.pid}` },
      },
    );
    const conn: Conn = { model, label, dead: false, publisher: new AmqpPublisher(model, label) };
    // An 'error' is always followed by 'close'; the listener is there so it is not thrown.
    model.on('error', (err: Error) => log.warn({ err: describeError(err), broker: label }, 'AMQP connection error'));
    model.on('close', (err?: Error) => this.onClosed(conn, err));
    model.on('blocked', (reason: string) => log.warn({ broker: label, reason }, 'RabbitMQ blocked publishing'));
    return conn;
  }

  private onClosed(conn: Conn, err: Error | undefined): void {
    conn.dead = true;
    if (this.conn !== conn) return;
    this.conn = null;
    if (this.state === 'closed') return;
    this.state = 'reconnecting';
    this.lastError = err ? describeError(err) : 'closed';
    const error = new MessageDeliveryFailure(
      `Lost the connection to RabbitMQ at ${conn.label} (${this.description}): ${this.lastError}; reconnecting`,
    );
    log.error({ broker: conn.label, reason: this.lastError }, 'lost the connection to RabbitMQ, reconnecting');
    this.emit({ kind: 'lost', error });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const initial = this.opts.reconnectInitialDelayMs ?? 200;
    const max = this.opts.reconnectMaxDelayMs ?? 10_000;
    // Jitter so that every service of a cloud does not hit the restarted broker in the same instant.
    const delay = Math.min(max, initial * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => void this.reconnect(), delay);
  }

  private async reconnect(): Promise<void> {
    this.reconnectTimer = null;
    if (this.state === 'closed') return;
    let conn: Conn;
    try {
      conn = await this.establish();
    } catch (err) {
      this.lastError = describeError(err);
      log.warn({ attempt: this.attempt, reason: this.lastError }, 'reconnect to RabbitMQ failed');
      if (!this.isClosed()) this.scheduleReconnect();
      return;
    }
    log.info({ broker: conn.label, attempts: this.attempt }, 'reconnected to RabbitMQ');
    this.conn = conn;
    this.state = 'connected';
    this.attempt = 0;
    this.emit({ kind: 'restored' });
  }

  /** Closes the connection so the normal recovery path re-creates everything. */
  private reset(conn: Conn, reason: string): void {
    if (conn.dead || this.conn !== conn) return;
    log.error({ broker: conn.label, reason }, 'resetting the RabbitMQ connection');
    void conn.model.close().catch(() => {});
  }

  /** A method, not a field test, because close() can run while a reconnect awaits. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private emit(event: ConnectionEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        log.error({ err }, 'connection listener failed');
      }
    }
  }

  private requireConnection(): Conn {
    if (this.state === 'connected' && this.conn) return this.conn;
    if (this.state === 'new')
      throw new MessageDeliveryFailure(`Transport ${this.description} is not connected: call connect() first`);
    if (this.state === 'closed') throw new MessageDeliveryFailure(`Transport ${this.description} is closed`);
    throw new MessageDeliveryFailure(
      `Not connected to RabbitMQ (${this.description}): the connection was lost (${this.lastError}) and is being ` +
        `re-established (attempt ${this.attempt}); the message was not sent`,
    );
  }

  // --- consumers ---------------------------------------------------------------------------------

  private async subscribe(sub: Sub): Promise<Subscription> {
    const conn = this.requireConnection();
    try {
      await this.attach(conn, sub);
    } catch (err) {
      await sub.channel?.close().catch(() => {});
      throw new MessageDeliveryFailure(
        `Cannot consume from '${sub.queue}' on RabbitMQ at ${conn.label}: ${describeError(err)}`,
      );
    }
    // Should the connection drop from here on, the reconnect loop re-attaches this consumer.
    this.subs.add(sub);
    return { cancel: () => this.cancel(sub) };
  }

  /** Declares what the consumer needs on `conn` and starts consuming. */
  private async attach(conn: Conn, sub: Sub): Promise<void> {
    const ch = await this.openChannel(conn, sub);
    const exclusive = { exclusive: true, autoDelete: true, durable: false };
    let consumeOn = ch;
    if (sub.kind === 'queue') {
      consumeOn = await this.declareTopicQueue(conn, sub, ch);
      await consumeOn.prefetch(sub.prefetch);
    } else if (sub.kind === 'fanout') {
      await ch.prefetch(sub.prefetch);
      await ch.assertExchange(sub.exchange, 'fanout', { durable: false, autoDelete: false });
      await ch.assertQueue(sub.queue, exclusive);
      await ch.bindQueue(sub.queue, sub.exchange, '');
    } else {
      await ch.assertQueue(sub.queue, exclusive);
    }
    const ok = await consumeOn.consume(sub.queue, (msg) => this.onDelivery(conn, sub, consumeOn, msg), {
      noAck: sub.kind === 'reply',
    });
    sub.consumerTag = ok.consumerTag;
    // Cancelled while a reconnect was re-attaching it: do not leave a consumer behind.
    if (sub.cancelled) await consumeOn.close().catch(() => {});
  }

  /**
   * Declares a topic queue durable and returns the channel to consume on. A non-durable queue of that
   * name (an older release's) makes the broker refuse the declaration and close the channel: the queue is
   * then deleted and declared durable if it is empty and unused, else kept and consumed as it is until a
   * later connection finds it so (or a broker restart drops it).
   */
  private async declareTopicQueue(conn: Conn, sub: Sub, ch: Channel): Promise<Channel> {
    sub.declaring = true;
    try {
      await ch.assertQueue(sub.queue, { durable: true, autoDelete: false });
      return ch;
    } catch (err) {
      if (!/PRECONDITION_FAILED/.test(describeError(err))) throw err;
      // The broker closed this channel over the refusal: that is expected, not a reason to reset.
      sub.channel = null;
    } finally {
      sub.declaring = false;
    }
    const next = await this.openChannel(conn, sub);
    const { messageCount, consumerCount } = await next.checkQueue(sub.queue);
    if (messageCount === 0 && consumerCount === 0) {
      await next.deleteQueue(sub.queue, { ifEmpty: true, ifUnused: true });
      await next.assertQueue(sub.queue, { durable: true, autoDelete: false });
      log.warn({ queue: sub.queue }, 'replaced a non-durable queue of an older release by a durable one');
      return next;
    }
    log.warn(
      { queue: sub.queue, messages: messageCount, consumers: consumerCount },
      'queue is non-durable (declared by an older release) and in use: consuming it as it is; its messages do ' +
        'not survive a broker restart until it is replaced by a durable one (see the operator guide)',
    );
    await next.assertQueue(sub.queue, { durable: false, autoDelete: false });
    return next;
  }

  /** A channel for `sub`; should it fail on its own later, the whole connection is reset. */
  private async openChannel(conn: Conn, sub: Sub): Promise<Channel> {
    const ch = await conn.model.createChannel();
    sub.channel = ch;
    let failure: Error | undefined;
    ch.on('error', (err: Error) => {
      failure = err;
    });
    ch.on('close', () => {
      // A channel closes without an error when its connection does; with one, it broke on its own
      // (unless a declaration is under way, whose failure its caller handles).
      if (failure && sub.channel === ch && !sub.cancelled && !sub.declaring)
        this.reset(conn, `channel of '${sub.queue}': ${describeError(failure)}`);
    });
    return ch;
  }

  private onDelivery(conn: Conn, sub: Sub, ch: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The broker cancelled the consumer, which happens when its queue is deleted.
      if (!sub.cancelled) this.reset(conn, `the broker cancelled the consumer of '${sub.queue}' (queue deleted?)`);
      return;
    }
    const body = msg.content.toString('utf8');
    const handled = Promise.resolve()
      .then(() => sub.handler(body))
      .catch((err: unknown) => log.error({ err, queue: sub.queue }, 'message handler failed'));
    if (sub.kind === 'reply') return; // replies are consumed with noAck
    sub.unacked.delivered();
    void handled.finally(() => {
      try {
        ch.ack(msg);
      } catch {
        // The channel died with its connection; the broker has already requeued the message.
      }
      sub.unacked.acked();
    });
  }

  private async cancel(sub: Sub): Promise<void> {
    if (sub.cancelled) return;
    sub.cancelled = true;
    this.subs.delete(sub);
    const ch = sub.channel;
    if (!ch) return;
    if (sub.consumerTag) await ch.cancel(sub.consumerTag).catch(() => {});
    // Keep the channel open until delivered messages are acknowledged: closing it would requeue them
    // while they are still being handled here, and they would run twice.
    await sub.unacked.whenIdle();
    await ch.close().catch(() => {});
  }
}
