/**
 * The health of a service process as oslo.middleware's healthcheck reports it, so load balancers and
 * monitors configured for OpenStack services work unchanged: GET answers 200 with "OK" when every check
 * passes and 503 with the reasons when one fails; HEAD answers 204 or 503 with no body; Accept:
 * application/json gets {"detailed": false, "reasons": [...]}, or with `detailed` the per-check results
 * (class, reason, details), the time and the platform, as oslo's `[healthcheck] detailed = true` does.
 */
import { platform, release } from 'node:os';

/** One thing the service needs to work (the bus, the database): null when fine, else why not. */
export interface HealthCheck {
  readonly name: string;
  /** What is checked, for the detailed answer. */
  readonly details: string;
  check(): Promise<string | null>;
}

export interface HealthAnswer {
  status: number;
  contentType: string;
  body: string;
}

interface Result {
  available: boolean;
  reason: string;
  details: string;
}

/** A check that takes longer than this counts as failed: a hung database must not hang the probe. */
const CHECK_TIMEOUT_MS = 5000;

async function runCheck(check: HealthCheck): Promise<Result> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`${check.name}: no answer within ${CHECK_TIMEOUT_MS / 1000} s`), CHECK_TIMEOUT_MS);
  });
  try {
    const problem = await Promise.race([
      check.check().catch((err: unknown) => `${check.name}: ${err instanceof Error ? err.message : String(err)}`),
      timeout,
    ]);
    return { available: problem === null, reason: problem ?? 'OK', details: check.details };
  } finally {
    clearTimeout(timer);
  }
}

export async function answerHealthcheck(
  checks: readonly HealthCheck[],
  request: { method: string; accept: string | undefined },
  detailed: boolean,
): Promise<HealthAnswer> {
  const results = await Promise.all(checks.map(runCheck));
  const healthy = results.every((r) => r.available);
  if (request.method === 'HEAD') return { status: healthy ? 204 : 503, contentType: 'text/plain', body: '' };
  const status = healthy ? 200 : 503;
  // As oslo: the failing checks' reasons, or one "OK" when all pass.
  const reasons = healthy ? ['OK'] : results.filter((r) => !r.available).map((r) => r.reason);
  if (!prefersJson(request.accept)) return { status, contentType: 'text/plain', body: reasons.join('\n') };
  const body = detailed
    ? {
        detailed: true,
        now: new Date().toISOString().replace('T', ' ').replace('Z', ''),
        platform: `${platform()}-${release()}`,
        node_version: process.version,
        reasons: results.map((r) => ({ reason: r.reason, details: r.details, class: 'HealthcheckResult' })),
      }
    : { detailed: false, reasons };
  return { status, contentType: 'application/json', body: JSON.stringify(body, null, 4) };
}

/**
 * oslo offers text/plain, text/html, application/json in that order and picks the first the client
 * accepts; this answers JSON only to a client that accepts JSON and not plain text (or ranks it higher).
 */
function prefersJson(accept: string | undefined): boolean {
  if (!accept) return false;
  const ranked = accept.split(',').map((part) => {
    const [type = '', ...params] = part.trim().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return { type: type.trim().toLowerCase(), q: q ? Number(q.slice(2)) : 1 };
  });
  const quality = (types: string[]): number =>
    Math.max(0, ...ranked.filter((r) => types.includes(r.type)).map((r) => r.q));
  const json = quality(['application/json']);
  return json > 0 && json > quality(['text/plain', 'text/*', '*/*']);
}
