/**
 * A complete image API over an in-memory database and a temporary store directory, with a fake token
 * validator: three fixed tokens stand for an admin and members of two projects.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/common/config/load-config.ts';
import { createApiServer, type ApiServer } from '../../../src/api/http/create-server.ts';
import { FilesystemImageStore, registerImageApi, type ImageRepository } from '../../../src/api/image/index.ts';
import type { Dialect } from '../../../src/common/db/connection-url.ts';
import { openTestDatabase, type TestDatabase } from '../../helpers/database.ts';
import { PROJECT_A, PROJECT_B, PROJECT_ADMIN, TOKENS, fakeTokens } from '../../helpers/fake-tokens.ts';

export { PROJECT_A, PROJECT_B, PROJECT_ADMIN, TOKENS, fakeTokens };
export type Who = keyof typeof TOKENS;

export interface ImageApiHarness {
  app: ApiServer;
  images: ImageRepository;
  database: TestDatabase;
  storeDir: string;
  /** Files in the store directory, temporary ones included. */
  storeFiles(): Promise<string[]>;
  close(): Promise<void>;
}

/** `dialect` defaults to STRATUS_TEST_IMAGE_DIALECT, else in-memory SQLite. */
export async function startImageApi(options: { sizeCap?: number; dialect?: Dialect } = {}): Promise<ImageApiHarness> {
  const root = await mkdtemp(join(tmpdir(), 'stratus-image-test-'));
  const storeDir = join(root, 'images');
  const config = loadConfig([], {
    DEFAULT: { state_path: root },
    image: { filesystem_store_datadir: storeDir, image_size_cap: String(options.sizeCap ?? 1024 * 1024) },
  });
  const database = await openTestDatabase(options.dialect ?? defaultDialect());
  const app = createApiServer({ kind: 'image', tokens: fakeTokens });
  const images = registerImageApi(app, { database, config, store: new FilesystemImageStore(storeDir) });
  await app.ready();
  return {
    app,
    images,
    database,
    storeDir,
    storeFiles: async () => (await readdir(storeDir).catch(() => [])).sort(),
    close: async () => {
      await app.close();
      await database.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

function defaultDialect(): Dialect {
  const value = process.env['STRATUS_TEST_IMAGE_DIALECT'];
  return value === 'mysql' || value === 'postgres' ? value : 'sqlite';
}

export const PATCH_TYPE = 'application/openstack-images-v2.1-json-patch';

/** Small request helpers over app.inject, authenticated as `who`. */
export function client(app: ApiServer, who: Who) {
  const headers = { 'x-auth-token': TOKENS[who] };
  return {
    get: (url: string) => app.inject({ method: 'GET', url, headers }),
    delete: (url: string) => app.inject({ method: 'DELETE', url, headers }),
    post: (url: string, body: unknown) => app.inject({ method: 'POST', url, headers, payload: body as object }),
    patch: (url: string, ops: unknown, contentType: string = PATCH_TYPE) =>
      app.inject({
        method: 'PATCH',
        url,
        headers: { ...headers, 'content-type': contentType },
        payload: JSON.stringify(ops),
      }),
    put: (url: string, data: Buffer) =>
      app.inject({
        method: 'PUT',
        url,
        headers: { ...headers, 'content-type': 'application/octet-stream' },
        payload: data,
      }),
    /** Creates an image and returns its body; fails the test on anything but 201. */
    create: async (body: Record<string, unknown>) => {
      const res = await app.inject({ method: 'POST', url: '/v2/images', headers, payload: body });
      if (res.statusCode !== 201) throw new Error(`create failed: ${res.statusCode} ${res.body}`);
      return res.json<Record<string, unknown>>();
    },
  };
}
