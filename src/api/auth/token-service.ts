/**
 * Issues, validates and revokes tokens. A token is a random opaque string; the database keeps only its
 * SHA-256 with who it belongs to, its scope and its expiry. The roles are not frozen into the token: each
 * validation reads the current assignments, so removing a role takes effect as soon as the cache lets go.
 *
 * Validations are cached in memory for min([token] cache_time, time the token has left), so the hot path of
 * every API request does no database query. Revocations, deletions and role changes made through this
 * process drop their cache entries at once, and write a revocation event that every other api process
 * applies within a poll interval (revocation-feed.ts); keystonemiddleware instead lets other processes
 * trust a revoked token until their cache expires.
 */
import type { Database } from '../../common/db/database.ts';
import type { Config } from '../../common/config/load-config.ts';
import { Unauthorized } from '../../common/errors.ts';
import { getLogger } from '../../common/log/logger.ts';
import { effectiveRoles } from '../identity/store/assignments.ts';
import { TokenCache } from './token-cache.ts';
import { eventMatches, purgeRevocationEvents, RevocationFeed, type RevocationEvent } from './revocation-feed.ts';
import type { SharedTokenCache } from './shared-token-cache.ts';
import { hashTokenId, newAuditId, newTokenId } from './token-id.ts';
import type { TokenValidator, ValidatedToken } from './token-validator.ts';

/** What the identity API needs beyond ValidatedToken to render a token body. */
export interface TokenInfo extends ValidatedToken {
  readonly userDomainName: string;
  readonly projectDomainName: string | null;
  /** Set for a domain-scoped token. */
  readonly domainId: string | null;
  readonly domainName: string | null;
  /** This token's audit id, then that of the token it was rescoped from, if any. */
  readonly auditIds: readonly string[];
}

export type TokenScope = { project: string } | { domain: string } | null;

export interface IssueRequest {
  userId: string;
  scope: TokenScope;
  methods: readonly string[];
  /** A rescoped token keeps the expiry of the token it came from and extends its audit chain. */
  parent?: Pick<TokenInfo, 'expiresAt' | 'auditId'>;
}

export interface TokenServiceOptions {
  /** Milliseconds since the epoch; tests move it to expire tokens. */
  clock?: () => number;
  maxCacheEntries?: number;
  /** How often issuing a token also deletes expired rows. */
  purgeIntervalMs?: number;
  /** Milliseconds between two reads of the revocation events (once started). */
  revocationPollMs?: number;
  /** The cache api processes share ([cache] backend); its entries are used once the service is started. */
  shared?: SharedTokenCache | null;
}

const AUTH_REQUIRED = 'The request you have made requires authentication.';
const log = getLogger('api.identity.tokens');

export class TokenService implements TokenValidator {
  readonly #db: Database['db'];
  readonly #clock: () => number;
  readonly #expirationMs: number;
  readonly #cacheMs: number;
  readonly #cache: TokenCache<TokenInfo>;
  readonly #purgeIntervalMs: number;
  #lastPurge = 0;
  /** Bumped by every revocation, so a validation that raced with one does not cache what it read. */
  #generation = 0;
  readonly #feed: RevocationFeed;
  readonly #shared: SharedTokenCache | null;

  constructor(database: Database, config: Pick<Config, 'token'>, options: TokenServiceOptions = {}) {
    this.#db = database.db;
    this.#clock = options.clock ?? Date.now;
    this.#expirationMs = config.token.expiration * 1000;
    this.#cacheMs = config.token.cache_time * 1000;
    this.#cache = new TokenCache(options.maxCacheEntries ?? 10_000, this.#clock);
    this.#purgeIntervalMs = options.purgeIntervalMs ?? 10 * 60_000;
    this.#shared = options.shared ?? null;
    this.#feed = new RevocationFeed(this.#db, {
      retentionMs: this.#retentionMs(),
      ...(options.revocationPollMs !== undefined ? { pollIntervalMs: options.revocationPollMs } : {}),
      onEvents: (events) => this.#drop((info, key) => events.some((e) => eventMatches(e, info, key))),
    });
  }

  /** Starts applying the revocations other api processes make (an api process calls this; tools need not). */
  start(): Promise<void> {
    return this.#feed.start();
  }

  async stop(): Promise<void> {
    await this.#feed.stop();
    await this.#shared?.close();
  }

  /** Reads the revocation events now rather than at the next poll (tests, and the shared cache's checks). */
  pollRevocations(): Promise<void> {
    return this.#feed.pollNow();
  }

  async issue(request: IssueRequest): Promise<{ token: string; info: TokenInfo }> {
    await this.#purgeIfDue();
    const token = newTokenId();
    const hash = hashTokenId(token);
    const issuedAt = new Date(this.#clock()).toISOString();
    const expiresAt = request.parent?.expiresAt ?? new Date(this.#clock() + this.#expirationMs).toISOString();
    const auditIds = [newAuditId(), ...(request.parent ? [request.parent.auditId] : [])];
    const scope = request.scope;
    await this.#db
      .insertInto('tokens')
      .values({
        id_hash: hash,
        user_id: request.userId,
        project_id: scope && 'project' in scope ? scope.project : null,
        domain_id: scope && 'domain' in scope ? scope.domain : null,
        methods: [...new Set(request.methods)].join(','),
        // One column holds the chain: two 22-character ids fit its 64 characters.
        audit_id: auditIds.join(' '),
        issued_at: issuedAt,
        expires_at: expiresAt,
        revoked: 0,
      })
      .execute();
    return { token, info: await this.#loadAndCache(hash) };
  }

  async validate(token: string): Promise<TokenInfo> {
    const hash = hashTokenId(token);
    // A process that cannot read the revocation events cannot know its cache is still right.
    const trusted = !this.#feed.running || this.#feed.current;
    const local = trusted ? this.#cache.get(hash) : undefined;
    if (local) return local;
    if (trusted && this.#shared && this.#feed.running) {
      const found = await this.#fromShared(hash);
      if (found) return found;
    }
    return this.#loadAndCache(hash);
  }

  /** A validation another process stored, if it still holds: unexpired and no revocation since its read. */
  async #fromShared(hash: string): Promise<TokenInfo | undefined> {
    const generation = this.#generation;
    const entry = await this.#shared!.get(hash);
    if (!entry) return undefined;
    const expiresAt = Date.parse(entry.info.expiresAt);
    if (!(expiresAt > this.#clock())) return undefined;
    if (this.#feed.revokedSince(entry.loadedAt, entry.info, hash) !== false) return undefined;
    if (generation === this.#generation) {
      this.#cache.set(hash, entry.info, Math.min(this.#clock() + this.#cacheMs, expiresAt));
    }
    return entry.info;
  }

  /** Revokes one token; false when it was unknown, expired or already revoked. */
  async revoke(token: string): Promise<boolean> {
    const hash = hashTokenId(token);
    const result = await this.#db
      .updateTable('tokens')
      .set({ revoked: 1 })
      .where('id_hash', '=', hash)
      .where('revoked', '=', 0)
      .where('expires_at', '>', this.#nowIso())
      .executeTakeFirst();
    await this.#publish({ kind: 'token', tokenHash: hash });
    this.#shared?.delete(hash);
    return Number(result.numUpdatedRows) > 0;
  }

  /** Revokes every token of a user: on delete, disable or password change. */
  async revokeUser(userId: string): Promise<void> {
    await this.#db
      .updateTable('tokens')
      .set({ revoked: 1 })
      .where('user_id', '=', userId)
      .where('revoked', '=', 0)
      .execute();
    await this.#publish({ kind: 'subject', userId, projectId: null, domainId: null });
  }

  /** Revokes every token scoped to a project: on delete or disable. */
  async revokeProject(projectId: string): Promise<void> {
    await this.#db
      .updateTable('tokens')
      .set({ revoked: 1 })
      .where('project_id', '=', projectId)
      .where('revoked', '=', 0)
      .execute();
    await this.#publish({ kind: 'subject', userId: null, projectId, domainId: null });
  }

  /** Revokes the tokens scoped to a domain or held by its users: on delete or disable. */
  async revokeDomain(domainId: string): Promise<void> {
    const db = this.#db;
    await db
      .updateTable('tokens')
      .set({ revoked: 1 })
      .where('revoked', '=', 0)
      .where((eb) =>
        eb.or([
          eb('domain_id', '=', domainId),
          eb('user_id', 'in', db.selectFrom('users').select('id').where('domain_id', '=', domainId)),
          eb('project_id', 'in', db.selectFrom('projects').select('id').where('domain_id', '=', domainId)),
        ]),
      )
      .execute();
    await this.#publish({ kind: 'domain', domainId });
  }

  /**
   * Drops cached validations whose roles may have changed (an assignment added or removed, a role deleted),
   * so the next validation reads the assignments again, on every api process. No argument: drops all.
   */
  forget(match: { userId?: string; projectId?: string; domainId?: string } = {}): Promise<void> {
    return this.#publish({
      kind: 'subject',
      userId: match.userId ?? null,
      projectId: match.projectId ?? null,
      domainId: match.domainId ?? null,
    });
  }

  /** Deletes the rows of expired tokens (revoked or not); returns how many. */
  async purgeExpired(): Promise<number> {
    this.#lastPurge = this.#clock();
    const result = await this.#db.deleteFrom('tokens').where('expires_at', '<=', this.#nowIso()).executeTakeFirst();
    const count = Number(result.numDeletedRows);
    if (count) log.debug({ count }, 'purged expired tokens');
    await purgeRevocationEvents(this.#db, Date.now() - this.#retentionMs());
    return count;
  }

  /** Events are kept as long as a validation may be cached, and at least a minute for slow pollers. */
  #retentionMs(): number {
    return this.#cacheMs + 60_000;
  }

  /** Drops this process's matching entries at once, and tells the others through the event table. */
  async #publish(event: RevocationEvent): Promise<void> {
    this.#drop((info, key) => eventMatches(event, info, key));
    await this.#feed.publish(event);
  }

  #drop(match: (info: TokenInfo, key: string) => boolean): void {
    this.#generation++;
    this.#cache.deleteWhere(match);
  }

  async #purgeIfDue(): Promise<void> {
    if (this.#clock() - this.#lastPurge >= this.#purgeIntervalMs) await this.purgeExpired();
  }

  #nowIso(): string {
    return new Date(this.#clock()).toISOString();
  }

  async #loadAndCache(hash: string): Promise<TokenInfo> {
    const generation = this.#generation;
    // On the feed's clock: readers of the shared entry compare it with the events' times.
    const loadedAt = Date.now();
    const info = await this.#load(hash);
    if (this.#cacheMs > 0) {
      const deadline = Math.min(this.#clock() + this.#cacheMs, Date.parse(info.expiresAt));
      if (generation === this.#generation) this.#cache.set(hash, info, deadline);
      // Even a read that raced with a revocation may be shared: readers check the events since loadedAt.
      this.#shared?.set(hash, { loadedAt, info }, deadline - this.#clock());
    }
    return info;
  }

  /** Reads the token and its subject as they are now; Unauthorized if any part no longer holds. */
  async #load(hash: string): Promise<TokenInfo> {
    const db = this.#db;
    const row = await db.selectFrom('tokens').selectAll().where('id_hash', '=', hash).executeTakeFirst();
    if (!row || row.revoked || row.expires_at <= this.#nowIso()) throw new Unauthorized(AUTH_REQUIRED);

    const user = await db
      .selectFrom('users')
      .innerJoin('domains', 'domains.id', 'users.domain_id')
      .select(['users.id', 'users.name', 'users.enabled', 'users.domain_id', 'domains.name as domain_name'])
      .select('domains.enabled as domain_enabled')
      .where('users.id', '=', row.user_id)
      .executeTakeFirst();
    if (!user || !user.enabled || !user.domain_enabled) throw new Unauthorized(AUTH_REQUIRED);

    let project: { id: string; name: string; domain_id: string; domain_name: string } | null = null;
    let domain: { id: string; name: string } | null = null;
    let roles: { id: string; name: string }[] = [];
    if (row.project_id !== null) {
      const found = await db
        .selectFrom('projects')
        .innerJoin('domains', 'domains.id', 'projects.domain_id')
        .select([
          'projects.id',
          'projects.name',
          'projects.enabled',
          'projects.domain_id',
          'domains.name as domain_name',
        ])
        .select('domains.enabled as domain_enabled')
        .where('projects.id', '=', row.project_id)
        .executeTakeFirst();
      if (!found || !found.enabled || !found.domain_enabled) throw new Unauthorized(AUTH_REQUIRED);
      project = found;
      roles = await effectiveRoles(db, user.id, { kind: 'project', id: found.id });
    } else if (row.domain_id !== null) {
      const found = await db.selectFrom('domains').selectAll().where('id', '=', row.domain_id).executeTakeFirst();
      if (!found || !found.enabled) throw new Unauthorized(AUTH_REQUIRED);
      domain = found;
      roles = await effectiveRoles(db, user.id, { kind: 'domain', id: found.id });
    }
    // A scoped token whose holder lost every role on the scope no longer authorizes anything.
    if ((project || domain) && roles.length === 0) throw new Unauthorized(AUTH_REQUIRED);

    const auditIds = row.audit_id.split(' ');
    return {
      userId: user.id,
      userName: user.name,
      userDomainId: user.domain_id,
      userDomainName: user.domain_name,
      projectId: project?.id ?? null,
      projectName: project?.name ?? null,
      projectDomainId: project?.domain_id ?? null,
      projectDomainName: project?.domain_name ?? null,
      domainId: domain?.id ?? null,
      domainName: domain?.name ?? null,
      roles: roles.map((r) => ({ id: r.id, name: r.name })),
      expiresAt: row.expires_at,
      issuedAt: row.issued_at,
      auditId: auditIds[0]!,
      auditIds,
      methods: row.methods.split(','),
    };
  }
}
