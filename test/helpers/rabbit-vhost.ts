/**
 * A private RabbitMQ virtual host per test, so tests running at once on the machine's broker never
 * consume each other's `conductor` or `scheduler` messages.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);
const RABBITMQCTL = process.env['RABBITMQCTL'] ?? 'rabbitmqctl';

export async function createVhost(): Promise<{ name: string; url: string; remove: () => Promise<void> }> {
  const name = `stratus-test-${randomBytes(4).toString('hex')}`;
  try {
    await run(RABBITMQCTL, ['add_vhost', name]);
    await run(RABBITMQCTL, ['set_permissions', '-p', name, 'guest', '.*', '.*', '.*']);
  } catch (err) {
    throw new Error(
      `cannot create a RabbitMQ vhost with ${RABBITMQCTL}: ${(err as Error).message}\n` +
        'Is RabbitMQ running? Start it with: rabbitmq-server -detached',
    );
  }
  return {
    name,
    url: `rabbit://guest:guest@127.0.0.1:5672/${name}`,
    remove: async () => void (await run(RABBITMQCTL, ['delete_vhost', name]).catch(() => undefined)),
  };
}
