/**
 * A Nova notification consumer for tests: a queue `versioned_notifications.info` bound to the `nova`
 * topic exchange of a vhost, declared as oslo.messaging's notification listener declares it (before
 * anything is sent), keeping every message as it arrives with oslo's envelope unwrapped.
 */
import { connect } from 'amqplib';

export interface NotificationListener<M> {
  /** Every message so far, in arrival order, with the envelope it came in. */
  readonly received: { envelope: Record<string, unknown>; message: M }[];
  /** Resolves with the first message (arrived or to come) that `matches`. */
  next(matches: (message: M) => boolean): Promise<M>;
  close(): Promise<void>;
}

export async function listenForNotifications<M>(vhostName: string): Promise<NotificationListener<M>> {
  const amqp = await connect(`amqp://guest:guest@127.0.0.1:5672/${vhostName}`);
  const ch = await amqp.createChannel();
  await ch.assertExchange('nova', 'topic', { durable: false, autoDelete: false });
  await ch.assertQueue('versioned_notifications.info', { durable: false, autoDelete: false });
  await ch.bindQueue('versioned_notifications.info', 'nova', 'versioned_notifications.info');
  const received: { envelope: Record<string, unknown>; message: M }[] = [];
  let arrived: () => void = () => {};
  await ch.consume(
    'versioned_notifications.info',
    (msg) => {
      if (!msg) return;
      const envelope = JSON.parse(msg.content.toString('utf8')) as Record<string, unknown>;
      received.push({ envelope, message: JSON.parse(envelope['oslo.message'] as string) as M });
      arrived();
    },
    { noAck: true },
  );
  return {
    received,
    async next(matches) {
      for (;;) {
        const found = received.find((r) => matches(r.message));
        if (found) return found.message;
        await new Promise<void>((resolve) => (arrived = resolve));
      }
    },
    close: () => amqp.close(),
  };
}
