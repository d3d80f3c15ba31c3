/**
 * The cache api processes share when an operator configures one (oslo.cache's `[cache] enabled`,
 * `backend` and `backend_argument`): validated tokens and rate-limit counters. None configured: each
 * process keeps its own.
 */
import type { Config } from '../config/load-config.ts';
import { parseRedisUrl, RedisClient, type RedisTarget } from './redis-client.ts';

/** The Redis the configuration names, or null for none; throws on a configuration that cannot work. */
export function sharedCacheTarget(config: Pick<Config, 'cache'>): RedisTarget | null {
  const { enabled, backend, backend_argument: args } = config.cache;
  if (!enabled || backend === 'dogpile.cache.null') return null;
  const parsed = new Map<string, string>();
  for (const arg of args) {
    const colon = arg.indexOf(':');
    if (colon <= 0) throw new Error(`[cache] backend_argument '${arg}' is not name:value`);
    parsed.set(arg.slice(0, colon).trim(), arg.slice(colon + 1).trim());
  }
  const url = parsed.get('url');
  if (url === undefined) {
    throw new Error(`[cache] backend ${backend} needs a backend_argument url:redis://host:port/db`);
  }
  try {
    return parseRedisUrl(url);
  } catch (err) {
    throw new Error(`[cache] backend_argument url: ${(err as Error).message}`, { cause: err });
  }
}

export function openSharedCache(config: Pick<Config, 'cache'>): RedisClient | null {
  const target = sharedCacheTarget(config);
  return target ? new RedisClient(target) : null;
}
