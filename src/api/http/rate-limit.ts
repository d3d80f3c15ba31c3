/**
 * `[DEFAULT] api_rate_limit`: how many requests a user, and a project, may make per period on every API
 * together. With a shared cache configured ([cache], Redis) the counters live there, so the limits hold
 * across all api processes; without one each process counts on its own. Fixed windows: a counter per
 * subject and period, which expires with the period.
 *
 * Format: comma-separated `<scope>:<count>/<period>`, scope `user` or `project`, period `second`,
 * `minute`, `hour` or `day`; e.g. `user:600/minute, project:3000/minute`. Empty: no limit.
 */
import type { RedisClient } from '../../common/cache/redis-client.ts';
import { StratusError } from '../../common/errors.ts';
import { getLogger } from '../../common/log/logger.ts';

export type RateScope = 'user' | 'project';

export interface RateLimit {
  readonly scope: RateScope;
  readonly count: number;
  readonly periodMs: number;
  readonly period: string;
}

const PERIODS: Record<string, number> = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 };

export function parseRateLimits(raw: string): RateLimit[] {
  const limits: RateLimit[] = [];
  for (const part of raw.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const m = /^(user|project)\s*:\s*(\d+)\s*\/\s*(second|minute|hour|day)$/.exec(part);
    if (!m || Number(m[2]) < 1) {
      throw new Error(`'${part}' is not <user|project>:<count>/<second|minute|hour|day> with a count of at least 1`);
    }
    limits.push({ scope: m[1] as RateScope, count: Number(m[2]), periodMs: PERIODS[m[3]!]!, period: m[3]! });
  }
  return limits;
}

/** A request over a limit: the limit and the seconds until its window ends. */
export interface Refusal {
  readonly limit: RateLimit;
  readonly retryAfterSeconds: number;
}

/** Counts one request against a counter; returns the count so far and the milliseconds left in the window. */
interface Counter {
  hit(key: string, periodMs: number): Promise<{ count: number; remainingMs: number }>;
  close(): Promise<void>;
}

/** One counter per process. */
export class LocalCounter implements Counter {
  readonly #windows = new Map<string, { count: number; endsAt: number }>();
  constructor(private readonly clock: () => number = Date.now) {}

  hit(key: string, periodMs: number): Promise<{ count: number; remainingMs: number }> {
    const now = this.clock();
    let window = this.#windows.get(key);
    if (!window || window.endsAt <= now) {
      // Expired windows are dropped as keys come back; a sweep keeps the map from growing without bound.
      if (this.#windows.size > 100_000)
        for (const [k, w] of this.#windows) if (w.endsAt <= now) this.#windows.delete(k);
      window = { count: 0, endsAt: now + periodMs };
      this.#windows.set(key, window);
    }
    window.count++;
    return Promise.resolve({ count: window.count, remainingMs: window.endsAt - now });
  }

  close(): Promise<void> {
    this.#windows.clear();
    return Promise.resolve();
  }
}

// Atomic: the first hit of a window sets its expiry, so a counter never outlives its period.
const HIT_SCRIPT =
  "local n = redis.call('INCR', KEYS[1]) " +
  "if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end " +
  "return {n, redis.call('PTTL', KEYS[1])}";

const log = getLogger('api.rate-limit');

/** Counters in Redis, shared by every api process; falls back to this process's own when Redis fails. */
export class RedisCounter implements Counter {
  readonly #fallback = new LocalCounter();
  constructor(private readonly redis: RedisClient) {}

  async hit(key: string, periodMs: number): Promise<{ count: number; remainingMs: number }> {
    try {
      const reply = await this.redis.command('EVAL', HIT_SCRIPT, 1, `stratus:rate:${key}`, periodMs);
      if (Array.isArray(reply) && typeof reply[0] === 'number' && typeof reply[1] === 'number') {
        return { count: reply[0], remainingMs: reply[1] >= 0 ? reply[1] : periodMs };
      }
      throw new Error(`unexpected reply ${JSON.stringify(reply)}`);
    } catch (err) {
      log.warn({ err }, 'rate-limit counter in Redis unavailable; counting in this process');
      return this.#fallback.hit(key, periodMs);
    }
  }

  close(): Promise<void> {
    return this.redis.close();
  }
}

/** A request refused for going over a limit: 429 with Retry-After. */
export class RateLimited extends StratusError {
  override readonly status = 429;
  constructor(readonly refusal: Refusal) {
    super('This request was rate-limited.');
  }

  /** What the limit is, in words (Nova's fault `details`). */
  get details(): string {
    const { scope, count, period } = this.refusal.limit;
    return `Only ${count} request(s) per ${scope} can be made every ${period}.`;
  }
}

export class RateLimiter {
  constructor(
    private readonly limits: readonly RateLimit[],
    private readonly counter: Counter,
  ) {}

  get enabled(): boolean {
    return this.limits.length > 0;
  }

  /** Counts the request against every limit of its subjects; the first limit exceeded, or null. */
  async check(subject: { userId: string; projectId: string | null }): Promise<Refusal | null> {
    for (const limit of this.limits) {
      const id = limit.scope === 'user' ? subject.userId : subject.projectId;
      if (!id) continue;
      const { count, remainingMs } = await this.counter.hit(`${limit.scope}:${id}:${limit.periodMs}`, limit.periodMs);
      if (count > limit.count) return { limit, retryAfterSeconds: Math.max(1, Math.ceil(remainingMs / 1000)) };
    }
    return null;
  }

  close(): Promise<void> {
    return this.counter.close();
  }
}
