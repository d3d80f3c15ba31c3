/**
 * transport_url, as oslo.messaging writes it: `rabbit://user:pass@host:port/vhost`, several brokers
 * comma-separated (`rabbit://u:p@h1:5672,u:p@h2:5672/`, tried in order, first reachable wins), or
 * `fake://` / empty for the in-process transport of an all-in-one deployment.
 */
import { ConfigError } from '../errors.ts';
import { AmqpTransport, type AmqpTransportOptions } from './amqp-transport.ts';
import { InProcessTransport, sharedInProcessBroker } from './in-process-transport.ts';
import type { Transport } from './transport.ts';

export interface AmqpHost {
  host: string;
  port: number;
  username: string;
  password: string;
}

export type ParsedTransportUrl =
  { kind: 'fake'; name: string } | { kind: 'amqp'; hosts: AmqpHost[]; vhost: string; masked: string };

const EXPECTED =
  "expected 'rabbit://user:pass@host:port/vhost' (several brokers comma-separated: " +
  "'rabbit://u:p@host1:5672,u:p@host2:5672/'; 'amqp://' is accepted too), or 'fake://' or empty for the in-process transport";

/** The URL with every password replaced by `***`, fit for logs and error messages. */
export function maskTransportUrl(url: string): string {
  return url.replace(/(^|\/\/|,)([^:@,/]*):([^@,/]*)@/g, '$1$2:***@');
}

function invalid(url: string, problem: string): never {
  throw new ConfigError(`Invalid transport_url '${maskTransportUrl(url)}': ${problem}; ${EXPECTED}`);
}

function decode(url: string, text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return invalid(url, 'bad percent-encoding in a user name, password or vhost');
  }
}

function parseHost(url: string, entry: string, previous: AmqpHost | undefined): AmqpHost {
  const at = entry.lastIndexOf('@');
  const userinfo = at >= 0 ? entry.slice(0, at) : undefined;
  const hostport = at >= 0 ? entry.slice(at + 1) : entry;
  // A later broker without credentials uses the previous one's, as one usually lists the same user.
  let username = previous?.username ?? 'guest';
  let password = previous?.password ?? 'guest';
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    username = decode(url, colon >= 0 ? userinfo.slice(0, colon) : userinfo);
    password = colon >= 0 ? decode(url, userinfo.slice(colon + 1)) : '';
  }
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d*))?$/.exec(hostport);
  if (!match?.[1]) return invalid(url, `'${hostport}' is not a host[:port]`);
  const port = match[2] ? Number(match[2]) : 5672;
  if (!Number.isInteger(port) || port < 1 || port > 65535) return invalid(url, `port '${match[2]}' is out of range`);
  return { host: match[1].replace(/^\[|\]$/g, ''), port, username, password };
}

export function parseTransportUrl(url: string): ParsedTransportUrl {
  const trimmed = url.trim();
  if (trimmed === '') return { kind: 'fake', name: '' };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(trimmed);
  if (!scheme?.[1]) return invalid(url, 'it has no scheme://');
  const rest = scheme[2] ?? '';
  const kind = scheme[1].toLowerCase();
  if (kind === 'fake') return { kind: 'fake', name: rest.replace(/\/+$/, '') };
  if (kind !== 'rabbit' && kind !== 'amqp') return invalid(url, `unsupported scheme '${kind}:'`);
  if (rest.includes('?')) return invalid(url, 'query options are not supported');
  const slash = rest.indexOf('/');
  const netloc = slash >= 0 ? rest.slice(0, slash) : rest;
  const path = slash >= 0 ? rest.slice(slash + 1) : '';
  if (netloc === '') return invalid(url, 'it names no host');
  const hosts: AmqpHost[] = [];
  for (const entry of netloc.split(',')) {
    if (entry === '') return invalid(url, 'empty host in the comma-separated list');
    hosts.push(parseHost(url, entry, hosts.at(-1)));
  }
  // An empty path means RabbitMQ's default virtual host, as in oslo.messaging.
  const vhost = path === '' ? '/' : decode(url, path);
  return { kind: 'amqp', hosts, vhost, masked: maskTransportUrl(trimmed) };
}

/** Extra settings for the AMQP transport; the in-process one has none. */
export type TransportOptions = Omit<AmqpTransportOptions, 'hosts' | 'vhost' | 'description'>;

/** Chooses the transport by the URL's scheme; throws ConfigError for a URL it cannot use. */
export function createTransport(url: string, opts: TransportOptions = {}): Transport {
  const parsed = parseTransportUrl(url);
  if (parsed.kind === 'fake') return new InProcessTransport(sharedInProcessBroker(parsed.name), parsed.name);
  return new AmqpTransport({ ...opts, hosts: parsed.hosts, vhost: parsed.vhost, description: parsed.masked });
}
