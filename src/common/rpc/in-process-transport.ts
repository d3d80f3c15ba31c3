/**
 * The transport for all-in-one (`fake://` or an empty transport_url): a small broker inside the process.
 * It keeps the AMQP semantics the RPC layer relies on, so tests on it mean something for RabbitMQ too:
 * named queues that exist once declared and keep messages while nobody consumes, round robin between
 * competing consumers within their prefetch, a copy per fanout listener, and publishing to an undeclared
 * queue refused. Delivery is always asynchronous (setImmediate), never inside the publisher's stack, so
 * ordering and re-entrancy bugs show up here as they would over the network.
 */
import { randomUUID } from 'node:crypto';
import { getLogger } from '../log/logger.ts';
import { MessageDeliveryFailure } from './errors.ts';
import type {
  ConnectionEvent,
  ConsumeOptions,
  DeliveryHandler,
  ReplyQueue,
  Subscription,
  Transport,
} from './transport.ts';
import { UnackedCount } from './unacked-count.ts';

const log = getLogger('rpc.inprocess');

class Consumer {
  readonly unacked = new UnackedCount();
  active = true;

  constructor(
    readonly handler: DeliveryHandler,
    readonly prefetch: number,
  ) {}

  hasCredit(): boolean {
    return this.active && this.unacked.value < this.prefetch;
  }
}

class Queue {
  readonly messages: string[] = [];
  readonly consumers: Consumer[] = [];
  private next = 0;

  constructor(readonly name: string) {}

  /** Round robin over the consumers that still have prefetch credit, like RabbitMQ. */
  pickConsumer(): Consumer | undefined {
    for (let i = 0; i < this.consumers.length; i++) {
      const consumer = this.consumers[(this.next + i) % this.consumers.length];
      if (consumer?.hasCredit()) {
        this.next = (this.next + i + 1) % this.consumers.length;
        return consumer;
      }
    }
    return undefined;
  }
}

export interface InProcessNotification {
  exchange: string;
  topic: string;
  body: string;
}

const NOTIFICATION_SINK_SIZE = 1000;

/** The shared state of every in-process transport attached to it: the "broker". */
export class InProcessBroker {
  private readonly queues = new Map<string, Queue>();
  /** Fanout topic → the private queues of its listeners. */
  private readonly fanouts = new Map<string, Set<Queue>>();
  private readonly pumping = new Set<Queue>();

  /**
   * Notifications published in this process, newest last, at most NOTIFICATION_SINK_SIZE: nothing
   * outside the process could consume them, so they are kept only for inspection and then forgotten.
   */
  private readonly notifications: InProcessNotification[] = [];

  keepNotification(notification: InProcessNotification): void {
    this.notifications.push(notification);
    if (this.notifications.length > NOTIFICATION_SINK_SIZE) this.notifications.shift();
  }

  recentNotifications(): readonly InProcessNotification[] {
    return [...this.notifications];
  }

  declareQueue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name);
      this.queues.set(name, queue);
    }
    return queue;
  }

  deleteQueue(queue: Queue): void {
    this.queues.delete(queue.name);
    for (const listeners of this.fanouts.values()) listeners.delete(queue);
  }

  /** Returns false when no queue of that name exists (AMQP's mandatory flag would return the message). */
  enqueue(name: string, body: string): boolean {
    const queue = this.queues.get(name);
    if (!queue) return false;
    queue.messages.push(body);
    this.schedule(queue);
    return true;
  }

  fanout(topic: string, body: string): void {
    for (const queue of this.fanouts.get(topic) ?? []) {
      queue.messages.push(body);
      this.schedule(queue);
    }
  }

  bind(topic: string, queue: Queue): void {
    let listeners = this.fanouts.get(topic);
    if (!listeners) {
      listeners = new Set();
      this.fanouts.set(topic, listeners);
    }
    listeners.add(queue);
  }

  attach(queue: Queue, consumer: Consumer): void {
    queue.consumers.push(consumer);
    this.schedule(queue);
  }

  detach(queue: Queue, consumer: Consumer): void {
    consumer.active = false;
    const at = queue.consumers.indexOf(consumer);
    if (at >= 0) queue.consumers.splice(at, 1);
  }

  private schedule(queue: Queue): void {
    if (this.pumping.has(queue)) return;
    this.pumping.add(queue);
    setImmediate(() => {
      this.pumping.delete(queue);
      this.pump(queue);
    });
  }

  private pump(queue: Queue): void {
    for (;;) {
      if (queue.messages.length === 0) return;
      const consumer = queue.pickConsumer();
      if (!consumer) return;
      const body = queue.messages.shift() as string;
      consumer.unacked.delivered();
      Promise.resolve()
        .then(() => consumer.handler(body))
        .catch((err: unknown) => log.error({ err, queue: queue.name }, 'message handler failed'))
        .finally(() => {
          consumer.unacked.acked();
          this.schedule(queue);
        });
    }
  }
}

const brokers = new Map<string, InProcessBroker>();

/** The broker every `fake://<name>` transport of this process shares, so all-in-one services reach each other. */
export function sharedInProcessBroker(name = ''): InProcessBroker {
  let broker = brokers.get(name);
  if (!broker) {
    broker = new InProcessBroker();
    brokers.set(name, broker);
  }
  return broker;
}

export class InProcessTransport implements Transport {
  readonly description: string;
  private isOpen = false;
  private readonly subscriptions = new Set<Subscription>();
  private readonly listeners = new Set<(event: ConnectionEvent) => void>();

  constructor(
    private readonly broker: InProcessBroker = sharedInProcessBroker(),
    name = '',
  ) {
    this.description = `fake://${name}`;
  }

  async connect(): Promise<void> {
    this.isOpen = true;
  }

  get connected(): boolean {
    return this.isOpen;
  }

  async close(): Promise<void> {
    if (!this.isOpen) return;
    this.isOpen = false;
    // As with AMQP, closing the transport under an RPC client fails its calls in flight at once.
    const error = new MessageDeliveryFailure(`Transport ${this.description} was closed`);
    for (const listener of this.listeners) listener({ kind: 'lost', error });
    await Promise.all([...this.subscriptions].map((sub) => sub.cancel()));
  }

  async publish(queue: string, body: string): Promise<void> {
    this.assertConnected();
    if (!this.broker.enqueue(queue, body)) {
      throw new MessageDeliveryFailure(
        `No queue named '${queue}' on ${this.description}: nobody has declared it (is the service that consumes it running?)`,
      );
    }
  }

  /** Kept in the broker's bounded sink: all-in-one has no consumer for notifications but its own tests. */
  async publishNotification(exchange: string, topic: string, body: string): Promise<void> {
    this.assertConnected();
    this.broker.keepNotification({ exchange, topic, body });
  }

  async consume(queue: string, handler: DeliveryHandler, opts: ConsumeOptions): Promise<Subscription> {
    this.assertConnected();
    return this.subscribe(this.broker.declareQueue(queue), handler, opts.prefetch, false);
  }

  async publishFanout(topic: string, body: string): Promise<void> {
    this.assertConnected();
    this.broker.fanout(topic, body);
  }

  async listenFanout(topic: string, handler: DeliveryHandler, opts: ConsumeOptions): Promise<Subscription> {
    this.assertConnected();
    const queue = this.broker.declareQueue(`${topic}_fanout_${randomUUID()}`);
    this.broker.bind(topic, queue);
    return this.subscribe(queue, handler, opts.prefetch, true);
  }

  async createReplyQueue(handler: DeliveryHandler): Promise<ReplyQueue> {
    this.assertConnected();
    const queue = this.broker.declareQueue(`reply_${randomUUID()}`);
    const sub = this.subscribe(queue, handler, Number.MAX_SAFE_INTEGER, true);
    return { name: queue.name, cancel: () => sub.cancel() };
  }

  /** An in-process broker never goes away; the only event is `lost` when the transport is closed. */
  onConnectionChange(listener: (event: ConnectionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private subscribe(queue: Queue, handler: DeliveryHandler, prefetch: number, exclusive: boolean): Subscription {
    const consumer = new Consumer(handler, prefetch);
    this.broker.attach(queue, consumer);
    const sub: Subscription = {
      cancel: async () => {
        if (!this.subscriptions.delete(sub)) return;
        this.broker.detach(queue, consumer);
        if (exclusive) this.broker.deleteQueue(queue);
        await consumer.unacked.whenIdle();
      },
    };
    this.subscriptions.add(sub);
    return sub;
  }

  private assertConnected(): void {
    if (!this.connected) {
      throw new MessageDeliveryFailure(`Transport ${this.description} is not connected: call connect() first`);
    }
  }
}
