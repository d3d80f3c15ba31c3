/**
 * Sending on one AMQP connection: a confirm channel, so a publish resolves only once RabbitMQ has taken
 * the message, and the mandatory flag on queue sends, so a message to a queue nobody declared comes back
 * (basic.return) and the send fails with MessageDeliveryFailure instead of vanishing. RabbitMQ sends the
 * return before the confirm of the same message, which is how the confirm callback tells them apart.
 */
import { randomUUID } from 'node:crypto';
import type { ChannelModel, ConfirmChannel, Message } from 'amqplib';
import { getLogger } from '../log/logger.ts';
import { describeError, MessageDeliveryFailure } from './errors.ts';

const log = getLogger('rpc.amqp');

/** Failures the broker decided (no queue of that name): sending again would fail again. */
const unroutable = new WeakSet<Error>();

/** Whether `err` means the message was refused for good, rather than lost with a connection. */
export function isUnroutable(err: unknown): boolean {
  return err instanceof Error && unroutable.has(err);
}

export class AmqpPublisher {
  private channel: Promise<ConfirmChannel> | null = null;
  /** messageIds the broker returned as unroutable, until their confirm arrives. */
  private readonly returned = new Set<string>();
  /** Notification exchanges and queues declared on this connection (`exchange/topic`). */
  private readonly declared = new Set<string>();

  constructor(
    private readonly model: ChannelModel,
    /** `host:port`, for messages. */
    private readonly broker: string,
  ) {}

  /**
   * To a queue when `exchange` is '' (routing key = queue name), else to that fanout exchange.
   * `persistent`: written to disk by the broker (delivery mode 2) before it confirms, so it outlives a
   * broker restart in a durable queue.
   */
  async send(exchange: string, routingKey: string, body: string, what: string, persistent = false): Promise<void> {
    await this.confirmed(exchange, routingKey, body, what, persistent, async (ch) => {
      // Publishing to a missing exchange would close the channel, so make sure the fanout one exists.
      if (exchange !== '') await ch.assertExchange(exchange, 'fanout', { durable: false, autoDelete: false });
    });
  }

  /**
   * A notification, as oslo.messaging's rabbit driver sends one: to the topic exchange `exchange`, routing
   * key `topic`, with a queue of that name declared and bound first so notifications wait there for
   * their consumers (billing, monitoring) instead of vanishing while none is connected.
   */
  async notify(exchange: string, topic: string, body: string): Promise<void> {
    await this.confirmed(exchange, topic, body, `notification topic '${topic}'`, false, async (ch) => {
      const key = `${exchange}/${topic}`;
      if (this.declared.has(key)) return;
      await ch.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
      await ch.assertQueue(topic, { durable: false, autoDelete: false });
      await ch.bindQueue(topic, exchange, topic);
      this.declared.add(key);
    });
  }

  private async confirmed(
    exchange: string,
    routingKey: string,
    body: string,
    what: string,
    persistent: boolean,
    prepare: (ch: ConfirmChannel) => Promise<void>,
  ): Promise<void> {
    const fail = (why: string): Error =>
      new MessageDeliveryFailure(`Cannot send to ${what} on RabbitMQ at ${this.broker}: ${why}`);
    let ch: ConfirmChannel;
    try {
      ch = await this.confirmChannel();
      await prepare(ch);
    } catch (err) {
      throw fail(describeError(err));
    }
    const id = randomUUID();
    await new Promise<void>((resolve, reject) => {
      const confirmed = (err: unknown): void => {
        if (this.returned.delete(id)) {
          const refused = fail(
            'no queue of that name exists, the broker returned the message (is its service running?)',
          );
          unroutable.add(refused);
          reject(refused);
        } else if (err) {
          reject(fail(describeError(err)));
        } else {
          resolve();
        }
      };
      const options = { mandatory: exchange === '', messageId: id, contentType: 'application/json', persistent };
      try {
        ch.publish(exchange, routingKey, Buffer.from(body, 'utf8'), options, confirmed);
      } catch (err) {
        reject(fail(describeError(err)));
      }
    });
  }

  /** Created on first use and again after it broke (a channel error closes only that channel). */
  private confirmChannel(): Promise<ConfirmChannel> {
    if (this.channel) return this.channel;
    const created = this.model.createConfirmChannel().then((ch) => {
      ch.on('return', (msg: Message) => {
        const id: unknown = msg.properties.messageId;
        if (typeof id === 'string') this.returned.add(id);
      });
      ch.on('error', (err: Error) =>
        log.warn({ err: describeError(err), broker: this.broker }, 'publish channel error'),
      );
      ch.on('close', () => {
        if (this.channel === created) this.channel = null;
      });
      return ch;
    });
    this.channel = created;
    created.catch(() => {
      if (this.channel === created) this.channel = null;
    });
    return created;
  }
}
