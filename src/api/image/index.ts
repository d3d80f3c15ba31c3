/**
 * The Image v2 API (Glance's contract): version discovery, schemas, images with their data and tags.
 * `registerImageApi` mounts it on a server made by createApiServer({ kind: 'image', ... });
 * `ImageRepository` is what the rest of Stratus uses to read images as a given user.
 */
import type { Config } from '../../common/config/load-config.ts';
import type { Database } from '../../common/db/database.ts';
import type { ApiServer } from '../http/create-server.ts';
import { ImageRepository } from './image-repository.ts';
import { registerImageDataRoutes } from './routes/image-data.ts';
import { registerImageTagRoutes } from './routes/image-tags.ts';
import { registerImageReadRoutes } from './routes/images-read.ts';
import { registerImageWriteRoutes } from './routes/images-write.ts';
import { registerSchemaRoutes } from './routes/schemas.ts';
import { registerVersionRoutes } from './routes/versions.ts';
import { FilesystemImageStore } from './store/filesystem-store.ts';
import type { ImageStore } from './store/image-store.ts';

export interface ImageApiDeps {
  database: Database;
  config: Config;
  store: ImageStore;
}

export function registerImageApi(app: ApiServer, deps: ImageApiDeps): ImageRepository {
  const images = new ImageRepository(deps.database, deps.store);
  // Encapsulated, so the octet-stream and JSON-patch body parsers stay with the image routes.
  void app.register(async (scope) => {
    registerVersionRoutes(scope);
    registerSchemaRoutes(scope);
    registerImageReadRoutes(scope, images, deps.config.DEFAULT.osapi_max_limit);
    registerImageWriteRoutes(scope, images);
    registerImageDataRoutes(scope, images, deps.config.image.image_size_cap);
    registerImageTagRoutes(scope, images);
  });
  return images;
}

/** The store `[image] filesystem_store_datadir` names. */
export function createImageStore(config: Config): ImageStore {
  return new FilesystemImageStore(config.image.filesystem_store_datadir);
}

export { ImageRepository, type ImageData, type ImagePage } from './image-repository.ts';
export type { Image, ImageStatus, Visibility } from './model.ts';
export type { ImageStore, StoredData } from './store/image-store.ts';
export { FilesystemImageStore } from './store/filesystem-store.ts';
export { imageView } from './view.ts';
export { parseListQuery, type ListQuery } from './list-params.ts';
