/**
 * The dashboard's listener (`[dashboard] port`), part of the api service: the built single-page
 * application (dashboard/, built by scripts/build.mjs) and, under /api/<service>/, the four public
 * OpenStack APIs relayed as they are. The relay hands each request to the same API app that serves the
 * API's own port (its router, authentication, validation and rate limits), so the dashboard can do
 * nothing a client of those ports cannot, and the browser talks to one origin: no CORS in the APIs
 * (docs/architecture.md, "The dashboard").
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getLogger } from '../../common/log/logger.ts';
import type { ApiServer } from '../http/create-server.ts';
import { securityHeaders, serveDashboardFile } from './dashboard-files.ts';

const log = getLogger('api.dashboard');

export type DashboardApis = Record<'identity' | 'compute' | 'image' | 'network', ApiServer>;

export interface DashboardOptions {
  apis: DashboardApis;
  /** The built application, or why there is none (served as a 503 page). */
  files: { dir: string } | { error: string };
  /** The console proxy's origin, which the page may frame (the VNC console); null without consoles. */
  consoleOrigin?: string | null;
}

/** `/api/compute/v2.1/servers` -> the compute app and `/v2.1/servers`; null for any other path. */
export function apiRoute(apis: DashboardApis, url: string): { app: ApiServer; url: string } | null {
  const match = /^\/api\/(identity|compute|image|network)(\/[^]*)?$/.exec(url.split('?')[0]!);
  if (!match) return null;
  const query = url.includes('?') ? url.slice(url.indexOf('?')) : '';
  return { app: apis[match[1] as keyof DashboardApis], url: `${match[2] ?? '/'}${query}` };
}

export function createDashboardServer(options: DashboardOptions): Server {
  const headers = securityHeaders(options.consoleOrigin ?? null);
  return createServer((request: IncomingMessage, response: ServerResponse) => {
    const route = apiRoute(options.apis, request.url ?? '/');
    if (route) {
      request.url = route.url;
      route.app.routing(request, response);
      return;
    }
    if ('error' in options.files) {
      response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(`The dashboard is not built: ${options.files.error}\nRun \`npm run build\`, then restart.\n`);
      return;
    }
    serveDashboardFile(options.files.dir, request, response, headers).catch((err: Error) => {
      log.error({ err: err.message, url: request.url }, 'serving a dashboard file failed');
      response.destroy();
    });
  });
}

/**
 * The dashboard's built files, built now if the checkout has none for its current sources (as the
 * launcher does for the services' bundle); a failed build is served as a page saying so, since the APIs
 * themselves work without it.
 */
export async function dashboardFiles(root: string): Promise<DashboardOptions['files']> {
  try {
    const script = (await import(pathToFileURL(join(root, 'scripts', 'build.mjs')).href)) as {
      ensureDashboardBuilt(root: string): Promise<string>;
    };
    return { dir: await script.ensureDashboardBuilt(root) };
  } catch (err) {
    const error = (err as Error).message.split('\n')[0]!;
    log.error({ err: error }, 'the dashboard cannot be built: it answers 503 until `npm run build` and a restart');
    return { error };
  }
}
