/**
 * Validated tokens in the cache api processes share (Redis), so a token validated by one process costs the
 * others no database query either. An entry says when its validation was read from the database; a reader
 * trusts it only if no revocation event since then matches (the token service checks that against its
 * revocation feed). What is read back crossed a process boundary, so it is checked against its shape;
 * anything else, and any Redis failure, is a miss.
 */
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import type { RedisClient } from '../../common/cache/redis-client.ts';
import { getLogger } from '../../common/log/logger.ts';
import type { TokenInfo } from './token-service.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

const EntrySchema = Type.Object({
  loadedAt: Type.Number(),
  info: Type.Object({
    userId: Type.String(),
    userName: Type.String(),
    userDomainId: Type.String(),
    userDomainName: Type.String(),
    projectId: Nullable(Type.String()),
    projectName: Nullable(Type.String()),
    projectDomainId: Nullable(Type.String()),
    projectDomainName: Nullable(Type.String()),
    domainId: Nullable(Type.String()),
    domainName: Nullable(Type.String()),
    roles: Type.Array(Type.Object({ id: Type.String(), name: Type.String() })),
    expiresAt: Type.String(),
    issuedAt: Type.String(),
    auditId: Type.String(),
    auditIds: Type.Array(Type.String(), { minItems: 1 }),
    methods: Type.Array(Type.String()),
  }),
});
/** The schema's type is the mutable twin of TokenInfo; the assertion below keeps the two in step. */
export interface SharedTokenEntry {
  loadedAt: number;
  info: TokenInfo;
}
const sameShape: (e: Static<typeof EntrySchema>) => SharedTokenEntry = (e) => e;
const checkEntry = Compile(EntrySchema);

const PREFIX = 'stratus:token:';
const log = getLogger('api.identity.token-cache');

export class SharedTokenCache {
  constructor(private readonly redis: RedisClient) {}

  async get(hash: string): Promise<SharedTokenEntry | undefined> {
    try {
      const raw = await this.redis.command('GET', PREFIX + hash);
      if (typeof raw !== 'string') return undefined;
      const value: unknown = JSON.parse(raw);
      if (checkEntry.Check(value)) return sameShape(value);
      log.warn({ hash }, 'ignoring a shared token cache entry of an unknown shape');
    } catch (err) {
      log.debug({ err }, 'shared token cache read failed');
    }
    return undefined;
  }

  /** Stores without waiting: the request does not wait for the cache. */
  set(hash: string, entry: SharedTokenEntry, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.redis
      .command('SET', PREFIX + hash, JSON.stringify(entry), 'PX', Math.ceil(ttlMs))
      .catch((err: unknown) => log.debug({ err }, 'shared token cache write failed'));
  }

  /** Drops a revoked token's entry; readers would refuse it anyway, this just frees it. */
  delete(hash: string): void {
    this.redis
      .command('DEL', PREFIX + hash)
      .catch((err: unknown) => log.debug({ err }, 'shared token cache delete failed'));
  }

  close(): Promise<void> {
    return this.redis.close();
  }
}
