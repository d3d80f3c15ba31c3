/**
 * The dashboard's files: what Vite built (index.html and assets/ with content hashes in their names).
 * Hashed assets are cached for good; index.html is revalidated, so a new build is picked up at once.
 * The page may load scripts, styles and data only from this origin (its Content-Security-Policy), frame
 * only the console proxy, and may not be framed.
 */
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileUnder, sendFile } from '../console/static-files.ts';

/**
 * The page's headers. `consoleOrigin`: the console proxy's origin (of `[vnc] novncproxy_base_url`), the
 * one place the page may frame (the server's VNC console, noVNC's own page there); null: no frames.
 */
export function securityHeaders(consoleOrigin: string | null): Record<string, string> {
  return {
    'content-security-policy':
      "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; " +
      `connect-src 'self'; frame-src ${consoleOrigin ?? "'none'"}; frame-ancestors 'none'; base-uri 'none'; ` +
      "form-action 'none'",
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  };
}

export async function serveDashboardFile(
  root: string,
  request: IncomingMessage,
  response: ServerResponse,
  headers: Record<string, string>,
) {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    response.end('The dashboard serves its files (GET, HEAD) and the APIs under /api/ only.\n');
    return;
  }
  const path = new URL(request.url ?? '/', 'http://dashboard').pathname;
  // The application routes in the URL's fragment: every page is index.html.
  const file = fileUnder(root, path === '/' ? '/index.html' : path);
  const info = file ? await stat(file).catch(() => null) : null;
  if (!file || !info?.isFile()) {
    response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    response.end(`No such file: ${path}. The dashboard is at /.\n`);
    return;
  }
  sendFile(file, info.size, request, response, {
    'cache-control': path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    ...headers,
  });
}
