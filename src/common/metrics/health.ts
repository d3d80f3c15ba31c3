/**
 * The health of a service process as oslo.middleware's healthcheck reports it, so load balancers and
 * monitors configured for OpenStack services work unchanged: GET answers 200 with "OK" when every check
 * passes and 503 with the reasons when one fails; HEAD answers 204 or 503 with no body; Accept:
 * application/json gets {"detailed": false, "reasons": [...]}, or with `detailed` the per-check results
 * (class, reason, details), the time and the platform, as oslo's `[healthcheck] detailed = true` does;
 * Accept: text/html gets the reasons as a small page. Served on the operator listener (server.ts), on
 * each API's own port (api/http/healthcheck-route.ts) and on the metadata service's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { platform, release } from 'node:os';

/** One thing the service needs to work (the bus, the database): null when fine, else why not. */
export interface HealthCheck {
  readonly name: string;
  /** What is checked, for the detailed answer. */
  readonly details: string;
  check(): Promise<string | null>;
}

/** Where and how a server answers the health check: oslo's `[healthcheck] path` and `detailed`. */
export interface HealthcheckSettings {
  checks: readonly HealthCheck[];
  path: string;
  detailed: boolean;
  /**
   * Answered to whoever reaches the port (an API's, the metadata service's): a failing check's reason
   * then names the check, not its error, which can name hosts and ports; `detailed` tells all anyway.
   */
  public?: boolean;
}

export interface HealthAnswer {
  status: number;
  contentType: string;
  body: string;
}

interface Result {
  name: string;
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
    return { name: check.name, available: problem === null, reason: problem ?? 'OK', details: check.details };
  } finally {
    clearTimeout(timer);
  }
}

export async function answerHealthcheck(
  settings: HealthcheckSettings,
  request: { method: string; accept: string | undefined },
): Promise<HealthAnswer> {
  const { detailed } = settings;
  const results = await Promise.all(settings.checks.map(runCheck));
  const healthy = results.every((r) => r.available);
  if (request.method === 'HEAD') return { status: healthy ? 204 : 503, contentType: 'text/plain', body: '' };
  const status = healthy ? 200 : 503;
  // As oslo: the failing checks' reasons, or one "OK" when all pass.
  const reasonOf = (r: Result) => (settings.public && !detailed ? `${r.name}: unavailable` : r.reason);
  const reasons = healthy ? ['OK'] : results.filter((r) => !r.available).map(reasonOf);
  const format = negotiate(request.accept);
  if (format === 'text/plain') return { status, contentType: format, body: reasons.join('\n') };
  if (format === 'text/html') {
    const lines = (detailed ? results.map((r) => `${r.reason} (${r.details})`) : reasons).map(escapeHtml);
    return { status, contentType: format, body: `<HTML>\n<BODY>\n${lines.join('<BR>\n')}\n</BODY>\n</HTML>\n` };
  }
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

/** The health check answered on a plain Node server (the operator listener, the metadata service). */
export function serveHealthcheck(
  settings: HealthcheckSettings,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  const method = request.method ?? 'GET';
  void answerHealthcheck(settings, { method, accept: request.headers.accept }).then((answer) => {
    response.writeHead(answer.status, { 'content-type': `${answer.contentType}; charset=UTF-8` });
    response.end(method === 'HEAD' ? undefined : answer.body);
  });
}

const OFFERS = ['text/plain', 'text/html', 'application/json'] as const;
type Format = (typeof OFFERS)[number];

/**
 * As oslo: of text/plain, text/html and application/json, the one the client ranks highest, the
 * earlier on a tie (so no Accept, or * / *, gets plain text). A range's most specific match gives an
 * offer its quality; a client accepting none of them still gets plain text.
 */
function negotiate(accept: string | undefined): Format {
  if (!accept) return 'text/plain';
  const ranges = accept.split(',').map((part) => {
    const [type = '', ...params] = part.trim().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const quality = q ? Number(q.slice(2)) : 1;
    return { type: type.trim().toLowerCase(), q: Number.isFinite(quality) ? quality : 0 };
  });
  const quality = (offer: Format): number => {
    const match = [offer, `${offer.split('/')[0]}/*`, '*/*']
      .map((type) => ranges.find((r) => r.type === type))
      .find((r) => r !== undefined);
    return match?.q ?? 0;
  };
  let best: Format = 'text/plain';
  let bestQ = 0;
  for (const offer of OFFERS) {
    const q = quality(offer);
    if (q > bestQ) [best, bestQ] = [offer, q];
  }
  return best;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
