/**
 * What the RPC client and server need from a message broker, and no more: both the in-process transport
 * (all-in-one) and the AMQP one implement it, so reply handling, timeouts and error serialization are
 * written once, above this line. Bodies are strings: the RPC layer serializes to JSON even in-process so
 * that a value that does not survive JSON fails the same way everywhere.
 */

/**
 * Receives one message. The message is acknowledged when the returned promise settles, so the consumer
 * decides when that is (the RPC server: once the handler has been dispatched). Unacknowledged messages
 * count against the subscription's prefetch, which is how back-pressure reaches the broker.
 */
export type DeliveryHandler = (body: string) => Promise<void>;

export interface ConsumeOptions {
  /** How many delivered but not yet acknowledged messages this subscription may hold. */
  prefetch: number;
}

export interface Subscription {
  /** Stops new deliveries, waits until every message already delivered has been acknowledged, then releases the subscription. */
  cancel(): Promise<void>;
}

export interface ReplyQueue extends Subscription {
  /** The queue's name, sent as `reply_to` so the callee knows where to answer. */
  readonly name: string;
}

export interface PublishOptions {
  /** The broker keeps the message on disk (AMQP delivery mode 2), so it outlives a broker restart. */
  persistent?: boolean;
  /**
   * How long to keep trying while the broker is unreachable: a send that finds the connection lost, or
   * loses it before the broker confirmed the message, waits for the reconnect and sends again (so the
   * message may arrive twice). 0 (the default): fail at once with MessageDeliveryFailure.
   */
  waitForBrokerMs?: number;
}

/** Told to the RPC client so calls in flight fail at once when the broker goes away. */
export type ConnectionEvent = { kind: 'lost'; error: Error } | { kind: 'restored' };

export interface Transport {
  /** Where messages go, for logs and error messages, password masked (`rabbit://guest:***@127.0.0.1:5672/`). */
  readonly description: string;
  /** Opens the connection; rejects with a message naming the broker and how to start it if it is unreachable. */
  connect(): Promise<void>;
  /** Closes the connection: subscriptions end, exclusive queues go away; calling it twice is harmless. */
  close(): Promise<void>;
  /** True while the broker is reachable (the health check reports it). */
  readonly connected: boolean;
  /**
   * Sends a notification to topic `topic` on exchange `exchange` (oslo.messaging's layout), where it waits
   * for whoever consumes that topic; rejects if the broker is not reachable.
   */
  publishNotification(exchange: string, topic: string, body: string): Promise<void>;
  /** Sends to the named queue (one consumer gets it); rejects with MessageDeliveryFailure if no such queue exists or the broker is not reachable. */
  publish(queue: string, body: string, opts?: PublishOptions): Promise<void>;
  /**
   * Declares the named queue (kept while nobody consumes it; on RabbitMQ durable, so it and its persistent
   * messages outlive a broker restart) and consumes from it, competing with its other consumers.
   */
  consume(queue: string, handler: DeliveryHandler, opts: ConsumeOptions): Promise<Subscription>;
  /** Sends a copy to every current listener of `topic`; succeeds when nobody listens. */
  publishFanout(topic: string, body: string, opts?: PublishOptions): Promise<void>;
  /** Listens to the fanout of `topic` through a private queue that lives as long as the subscription. */
  listenFanout(topic: string, handler: DeliveryHandler, opts: ConsumeOptions): Promise<Subscription>;
  /** Creates an exclusive reply queue for one RPC client and consumes from it; it is re-created under the same name after a reconnect. */
  createReplyQueue(handler: DeliveryHandler): Promise<ReplyQueue>;
  /** Registers a listener for connection loss and recovery; returns a function that removes it. */
  onConnectionChange(listener: (event: ConnectionEvent) => void): () => void;
}
