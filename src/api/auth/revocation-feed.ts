/**
 * How a revocation made on one api process reaches the token caches of all the others (Keystone keeps
 * revocation events for the same reason). Every revocation, deletion or role change writes one row to
 * token_revocation_events; every api process polls that table (one indexed query a second) and drops the
 * cached validations an event matches. Polling the database, rather than relying on a bus or a cache
 * server, means the bound holds in every deployment, with nothing more to run.
 *
 * The feed also keeps the recent events in memory, so a validation found in a cache shared between
 * processes (Redis) can be checked against every event since it was read from the database.
 */
import type { Db } from '../../common/db/database.ts';
import { getLogger } from '../../common/log/logger.ts';

export type RevocationEvent =
  /** One token, by the hash the database keys it by. */
  | { readonly kind: 'token'; readonly tokenHash: string }
  /** The tokens of a user, of a project scope or of a domain scope; a null field matches any value. */
  | {
      readonly kind: 'subject';
      readonly userId: string | null;
      readonly projectId: string | null;
      readonly domainId: string | null;
    }
  /** Every token that touches a domain: scoped to it, or held by one of its users, or scoped to its projects. */
  | { readonly kind: 'domain'; readonly domainId: string };

/** What of a cached validation an event can match. */
export interface RevocableToken {
  readonly userId: string;
  readonly userDomainId: string;
  readonly projectId: string | null;
  readonly projectDomainId: string | null;
  readonly domainId: string | null;
}

export function eventMatches(event: RevocationEvent, token: RevocableToken, tokenHash: string): boolean {
  switch (event.kind) {
    case 'token':
      return event.tokenHash === tokenHash;
    case 'subject':
      return (
        (event.userId === null || event.userId === token.userId) &&
        (event.projectId === null || event.projectId === token.projectId) &&
        (event.domainId === null || event.domainId === token.domainId)
      );
    case 'domain':
      return [token.domainId, token.userDomainId, token.projectDomainId].includes(event.domainId);
  }
}

export interface RevocationFeedOptions {
  /** How long an event is kept: at least the longest a validation may stay in any cache. */
  retentionMs: number;
  /** Milliseconds between polls. */
  pollIntervalMs?: number;
  /** Called with the events other processes (or this one) wrote since the last poll. */
  onEvents: (events: readonly RevocationEvent[]) => void;
}

interface Known {
  /** Undefined for an event this process wrote, until a poll brings its row. */
  readonly id: number | undefined;
  readonly event: RevocationEvent;
  readonly createdAt: number;
}

/**
 * Auto-increment ids are allocated at insert but become visible at commit, so a row can appear after one
 * with a higher id. Each poll therefore also re-reads the rows of the last few seconds, and events written
 * by clocks this far apart still compare correctly with cache entries.
 */
const TRAILING_MS = 10_000;
const PURGE_EVERY_MS = 60_000;
const log = getLogger('api.identity.revocations');

export class RevocationFeed {
  readonly #db: Db;
  readonly #options: Required<RevocationFeedOptions>;
  #known: Known[] = [];
  readonly #seen = new Set<number>();
  #maxId = 0;
  /** Events created from this time on are all known (set by start). */
  #completeFrom = Number.POSITIVE_INFINITY;
  #lastPollOk = 0;
  #lastPurge = 0;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;

  constructor(db: Db, options: RevocationFeedOptions) {
    this.#db = db;
    this.#options = { pollIntervalMs: 1000, ...options };
  }

  /** Reads the events still retained, then polls until stop. */
  async start(): Promise<void> {
    if (this.#timer) return;
    const from = Date.now() - this.#options.retentionMs;
    await this.#poll(from);
    this.#completeFrom = from;
    this.#timer = setInterval(() => void this.pollNow(), this.#options.pollIntervalMs);
    // The feed never keeps a process alive on its own; the api's listeners do.
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#polling;
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  /**
   * True while the last poll is recent enough that the caches may be trusted: if the database cannot be
   * read, a revocation made elsewhere would go unseen, so validations are read afresh instead.
   */
  get current(): boolean {
    return this.running && Date.now() - this.#lastPollOk <= 2 * this.#options.pollIntervalMs;
  }

  /** Writes an event for every api process and records it here at once. */
  async publish(event: RevocationEvent): Promise<void> {
    const createdAt = Date.now();
    await this.#db
      .insertInto('token_revocation_events')
      .values({
        kind: event.kind,
        token_hash: event.kind === 'token' ? event.tokenHash : null,
        user_id: event.kind === 'subject' ? event.userId : null,
        project_id: event.kind === 'subject' ? event.projectId : null,
        domain_id: event.kind === 'token' ? null : event.domainId,
        created_at: createdAt,
      })
      .execute();
    this.#known.push({ id: undefined, event, createdAt });
  }

  /**
   * Whether an event created since `since` (less the clock allowance) matches the token; undefined when
   * this process cannot tell, because it has not known the events since then.
   */
  revokedSince(since: number, token: RevocableToken, tokenHash: string): boolean | undefined {
    const from = since - TRAILING_MS;
    if (from < this.#completeFrom) return undefined;
    return this.#known.some((k) => k.createdAt >= from && eventMatches(k.event, token, tokenHash));
  }

  /** Polls at once (the timer calls this); concurrent calls share one query. */
  pollNow(): Promise<void> {
    this.#polling ??= this.#poll(Date.now() - TRAILING_MS)
      .catch((err: unknown) => log.warn({ err }, 'cannot read token revocation events'))
      .finally(() => (this.#polling = undefined));
    return this.#polling;
  }

  async #poll(createdFrom: number): Promise<void> {
    const startedAt = Date.now();
    const rows = await this.#db
      .selectFrom('token_revocation_events')
      .selectAll()
      .where((eb) => eb.or([eb('id', '>', this.#maxId), eb('created_at', '>=', createdFrom)]))
      .orderBy('id')
      .execute();
    const fresh: RevocationEvent[] = [];
    for (const row of rows) {
      if (this.#seen.has(row.id)) continue;
      const event = eventFromRow(row);
      if (!event) {
        log.warn({ id: row.id, kind: row.kind }, 'ignoring a token revocation event of an unknown kind');
        continue;
      }
      this.#seen.add(row.id);
      this.#maxId = Math.max(this.#maxId, row.id);
      this.#known.push({ id: row.id, event, createdAt: Number(row.created_at) });
      fresh.push(event);
    }
    this.#lastPollOk = startedAt;
    this.#forgetOld();
    if (fresh.length) this.#options.onEvents(fresh);
    if (startedAt - this.#lastPurge >= PURGE_EVERY_MS) {
      this.#lastPurge = startedAt;
      await purgeRevocationEvents(this.#db, startedAt - this.#options.retentionMs);
    }
  }

  #forgetOld(): void {
    const before = Date.now() - this.#options.retentionMs;
    if (!this.#known.some((k) => k.createdAt < before)) return;
    this.#known = this.#known.filter((k) => {
      if (k.createdAt >= before) return true;
      if (k.id !== undefined) this.#seen.delete(k.id);
      return false;
    });
  }
}

/** Deletes the events created before `before`; no cache holds a validation that old. */
export async function purgeRevocationEvents(db: Db, before: number): Promise<number> {
  const result = await db.deleteFrom('token_revocation_events').where('created_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}

interface EventRow {
  kind: string;
  token_hash: string | null;
  user_id: string | null;
  project_id: string | null;
  domain_id: string | null;
}

function eventFromRow(row: EventRow): RevocationEvent | null {
  if (row.kind === 'token' && row.token_hash !== null) return { kind: 'token', tokenHash: row.token_hash };
  if (row.kind === 'subject') {
    return { kind: 'subject', userId: row.user_id, projectId: row.project_id, domainId: row.domain_id };
  }
  if (row.kind === 'domain' && row.domain_id !== null) return { kind: 'domain', domainId: row.domain_id };
  return null;
}
