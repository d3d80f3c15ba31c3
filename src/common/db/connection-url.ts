/**
 * Parses `[database] connection` the way Nova (SQLAlchemy) writes it:
 *   sqlite:////abs/path.sqlite   sqlite:///relative.sqlite   sqlite://  (memory)
 *   mysql+pymysql://user:pass@host:3306/db?charset=utf8   postgresql+psycopg2://user:pass@host/db
 * The `+driver` suffix names a Python driver; it is accepted and ignored.
 */
import { resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { maskUrlPassword } from '../config/show-config.ts';

export type DatabaseTarget =
  | { dialect: 'sqlite'; path: string /* ':memory:' for an in-memory database */ }
  | { dialect: 'mysql'; host: string; port: number; user: string; password: string; database: string }
  | { dialect: 'postgres'; host: string; port: number; user: string; password: string; database: string };

export type Dialect = DatabaseTarget['dialect'];

const EXPECTED = 'expected sqlite:///path, mysql+pymysql://user:pass@host/db or postgresql://user:pass@host/db';

export function parseConnectionUrl(url: string): DatabaseTarget {
  const scheme = /^([a-z0-9]+)(\+[a-z0-9_]+)?:\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'sqlite') {
    const rest = url.replace(/^[^:]+:\/\//, '');
    if (rest === '' || rest === '/' || rest === '/:memory:') return { dialect: 'sqlite', path: ':memory:' };
    if (!rest.startsWith('/')) throw new ConfigError(`bad [database] connection '${url}': ${EXPECTED}`);
    return { dialect: 'sqlite', path: resolve(rest.slice(1)) };
  }
  const dialect =
    scheme === 'mysql' || scheme === 'mariadb'
      ? 'mysql'
      : scheme === 'postgresql' || scheme === 'postgres'
        ? 'postgres'
        : null;
  if (!dialect) throw new ConfigError(`unsupported [database] connection '${maskUrlPassword(url)}': ${EXPECTED}`);
  let parsed: URL;
  try {
    parsed = new URL(url.replace(/^[^:]+:/, 'db:'));
  } catch {
    throw new ConfigError(`bad [database] connection '${maskUrlPassword(url)}': ${EXPECTED}`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database) throw new ConfigError(`[database] connection '${maskUrlPassword(url)}' names no database`);
  return {
    dialect,
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', // an IPv6 literal without its brackets
    port: parsed.port ? Number(parsed.port) : dialect === 'mysql' ? 3306 : 5432,
    user: decodeURIComponent(parsed.username) || (dialect === 'mysql' ? 'root' : 'postgres'),
    password: decodeURIComponent(parsed.password),
    database,
  };
}

export function describeTarget(target: DatabaseTarget): string {
  return target.dialect === 'sqlite'
    ? `SQLite ${target.path}`
    : `${target.dialect === 'mysql' ? 'MariaDB/MySQL' : 'PostgreSQL'} ${target.user}@${target.host}:${target.port}/${target.database}`;
}
