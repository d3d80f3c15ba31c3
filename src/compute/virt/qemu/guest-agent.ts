/**
 * The QEMU guest agent (qemu-ga inside the guest), as Nova's libvirt driver gives it to a guest whose image
 * says `hw_qemu_guest_agent=yes`: a virtio-serial port named org.qemu.guest_agent.0, backed on the host by a
 * unix socket beside the guest's QMP socket. changePassword (`openstack server set --root-password`) goes
 * through it: guest-set-user-password for the image's `os_admin_user` (root by default, Administrator for
 * os_type=windows), which qemu-ga applies with the guest's chpasswd. cloud-init plays no part: it reads no
 * password from the metadata (only a `password`/`chpasswd` cloud-config in the user data, at first boot).
 *
 * The agent speaks QMP's JSON without a greeting. A client first sends 0xFF and guest-sync-delimited with
 * a fresh id: the agent answers 0xFF then the id, so that anything a previous client left unread (or the
 * agent's own partial input) is skipped. Only one client at a time: the socket is qemu's, one connection.
 */
import { connect, type Socket } from 'node:net';
import { randomInt } from 'node:crypto';
import { InstanceAgentNotEnabled } from '../../../common/errors.ts';

/**
 * How long the agent may take to answer, sync and command together: qemu-ga runs chpasswd, which under
 * emulation on a busy host takes seconds; well inside the API's wait for the call.
 */
export const DEFAULT_AGENT_TIMEOUT_MS = 20_000;

/** The guest's agent as built into its spec; absent: the image asked for none. */
export interface GuestAgent {
  /** Whose password changePassword sets. */
  adminUser: string;
}

/** Nova's ImageMetaProps boolean strings (oslo's strutils.bool_from_string, strict=False). */
const TRUE_STRINGS = new Set(['1', 't', 'true', 'on', 'y', 'yes']);

/** The agent an image's properties ask for (hw_qemu_guest_agent), with its admin user; undefined: none. */
export function guestAgentOf(properties: Readonly<Record<string, string>>): GuestAgent | undefined {
  if (!TRUE_STRINGS.has((properties['hw_qemu_guest_agent'] ?? '').trim().toLowerCase())) return undefined;
  const named = properties['os_admin_user']?.trim();
  const windows = properties['os_type']?.trim().toLowerCase() === 'windows';
  return { adminUser: named || (windows ? 'Administrator' : 'root') };
}

/** The qemu arguments of the agent's channel: a virtio-serial controller and its named port on `socket`. */
export function guestAgentArguments(socket: string): string[] {
  const path = socket.replaceAll(',', ',,');
  return [
    ...['-chardev', `socket,id=qga0,path=${path},server=on,wait=off`],
    ...['-device', 'virtio-serial-pci,id=qga-serial'],
    ...['-device', 'virtserialport,bus=qga-serial.0,chardev=qga0,name=org.qemu.guest_agent.0'],
  ];
}

interface AgentReply {
  return?: unknown;
  error?: { class?: string; desc?: string };
}

/**
 * One conversation with the agent on `socketPath`: synchronised, then `command` run and its reply read.
 * Rejects with a plain error saying what went wrong (for the logs); the caller decides what the user is told.
 */
export async function agentCommand(
  socketPath: string,
  command: { execute: string; arguments?: Record<string, unknown> },
  timeoutMs: number,
): Promise<unknown> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect(socketPath);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
  try {
    return await converse(socket, command, timeoutMs);
  } finally {
    socket.destroy();
  }
}

function converse(
  socket: Socket,
  command: { execute: string; arguments?: Record<string, unknown> },
  timeoutMs: number,
): Promise<unknown> {
  const syncId = randomInt(1, 2 ** 31);
  return new Promise((resolve, reject) => {
    let buffered = '';
    let synced = false;
    const timer = setTimeout(
      () => reject(new Error(`the guest agent did not answer ${synced ? command.execute : 'guest-sync'} in time`)),
      timeoutMs,
    );
    const finish = (fn: () => void) => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      fn();
    };
    socket.on('error', (err) => finish(() => reject(err)));
    socket.on('close', () => finish(() => reject(new Error('the guest agent channel closed'))));
    socket.on('data', (chunk: Buffer) => {
      // The sync answer is preceded by 0xFF: everything before it is a stale reply or noise.
      let text = chunk.toString('latin1');
      if (!synced) {
        const marker = text.lastIndexOf('\xff');
        if (marker >= 0) buffered = '';
        text = marker >= 0 ? text.slice(marker + 1) : text;
      }
      buffered += text;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (!line) continue;
        let reply: AgentReply;
        try {
          reply = JSON.parse(Buffer.from(line, 'latin1').toString('utf8')) as AgentReply;
        } catch {
          continue;
        }
        if (!synced) {
          if (reply.return !== syncId) continue;
          synced = true;
          socket.write(`${JSON.stringify(command)}\n`);
          continue;
        }
        if (reply.error) {
          const { class: cls, desc } = reply.error;
          finish(() => reject(new Error(`${cls ?? 'GenericError'}: ${desc ?? 'no description'}`)));
        } else {
          finish(() => resolve(reply.return));
        }
        return;
      }
    });
    socket.write(Buffer.concat([Buffer.from([0xff]), Buffer.from(`${JSON.stringify(guestSync(syncId))}\n`)]));
  });
}

function guestSync(id: number) {
  return { execute: 'guest-sync-delimited', arguments: { id } };
}

/**
 * Sets `agent.adminUser`'s password in the guest (Nova's set_admin_password on libvirt). A guest without
 * the agent is refused as Nova refuses it (InstanceAgentNotEnabled); an agent that does not answer or
 * refuses rejects with a plain error, which the compute manager logs and answers with Nova's generic
 * "error setting admin password", so that nothing the guest said reaches the user.
 */
export async function setGuestPassword(
  agent: GuestAgent | undefined,
  socketPath: string,
  password: string,
  timeoutMs: number,
): Promise<void> {
  if (!agent) throw new InstanceAgentNotEnabled('QEMU guest agent is not enabled');
  try {
    await agentCommand(
      socketPath,
      {
        execute: 'guest-set-user-password',
        arguments: { username: agent.adminUser, password: Buffer.from(password).toString('base64'), crypted: false },
      },
      timeoutMs,
    );
  } catch (err) {
    throw new Error(`setting the password of "${agent.adminUser}" through the guest agent: ${(err as Error).message}`);
  }
}
