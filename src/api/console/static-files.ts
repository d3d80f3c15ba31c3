/**
 * The console proxy's web pages: files of the noVNC client (`[DEFAULT] web`, Debian's /usr/share/novnc)
 * served read-only. Only GET and HEAD, only files under that directory as the request names them.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, resolve, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.oga': 'audio/ogg',
  '.mp3': 'audio/mpeg',
};

/** The file under `root` that `urlPath` names, or null for a path that leaves it. */
export function fileUnder(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const base = resolve(root);
  const file = resolve(base, `.${decoded.startsWith('/') ? decoded : `/${decoded}`}`);
  return file.startsWith(base + sep) ? file : null;
}

export async function serveStaticFile(
  root: string,
  request: IncomingMessage,
  response: ServerResponse,
  indexPage: string,
): Promise<void> {
  const send = (status: number, text: string) => {
    response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
    response.end(`${text}\n`);
  };
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    return send(405, 'The console proxy serves files (GET, HEAD) and console websockets only.');
  }
  const path = new URL(request.url ?? '/', 'http://proxy').pathname;
  if (path === '/') {
    response.writeHead(302, { location: indexPage });
    response.end();
    return;
  }
  const file = fileUnder(root, path);
  const info = file ? await stat(file).catch(() => null) : null;
  if (!file || !info?.isFile()) {
    const installed = await stat(root).then(
      (s) => s.isDirectory(),
      () => false,
    );
    return send(
      404,
      installed
        ? `No such file: ${path}`
        : `The noVNC web client is not installed in ${root}: apt-get install novnc, or point [DEFAULT] web at it.`,
    );
  }
  sendFile(file, info.size, request, response, { 'x-content-type-options': 'nosniff' });
}

/** Answers with `file` (of `size` bytes), its content type by its extension, and `headers`; no body for HEAD. */
export function sendFile(
  file: string,
  size: number,
  request: IncomingMessage,
  response: ServerResponse,
  headers: Record<string, string>,
): void {
  response.writeHead(200, {
    'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': size,
    ...headers,
  });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  createReadStream(file)
    .on('error', () => response.destroy())
    .pipe(response);
}
