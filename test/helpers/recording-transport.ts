/**
 * A bus transport for API tests: it keeps every message published instead of delivering it, and can be
 * told to refuse publishing, as a broker that is gone would.
 */
import type { ConnectionEvent, ReplyQueue, Subscription, Transport } from '../../src/common/rpc/transport.ts';

export interface RecordedCast {
  queue: string;
  method: string;
  args: Record<string, unknown>;
  context: { requestId: string; projectId: string | null };
}

/** A transport that keeps what is published; `refuse` makes publishing fail like a broker that is gone. */
export class RecordingTransport implements Transport {
  readonly description = 'recording://';
  readonly casts: RecordedCast[] = [];
  /** Notifications as published: the exchange, the routing key and the body (oslo's envelope, for messagingv2). */
  readonly notifications: { exchange: string; topic: string; body: string }[] = [];
  refuse: Error | null = null;

  async connect(): Promise<void> {}
  async close(): Promise<void> {}
  async publish(queue: string, body: string): Promise<void> {
    if (this.refuse) throw this.refuse;
    const message = JSON.parse(body) as Omit<RecordedCast, 'queue'>;
    this.casts.push({ queue, method: message.method, args: message.args, context: message.context });
  }
  async consume(): Promise<Subscription> {
    return { cancel: async () => {} };
  }
  async publishFanout(): Promise<void> {}
  async publishNotification(exchange: string, topic: string, body: string): Promise<void> {
    if (this.refuse) throw this.refuse;
    this.notifications.push({ exchange, topic, body });
  }
  get connected(): boolean {
    return this.refuse === null;
  }
  async listenFanout(): Promise<Subscription> {
    return { cancel: async () => {} };
  }
  async createReplyQueue(): Promise<ReplyQueue> {
    return { name: 'reply.recording', cancel: async () => {} };
  }
  onConnectionChange(_listener: (event: ConnectionEvent) => void): () => void {
    return () => {};
  }
}
