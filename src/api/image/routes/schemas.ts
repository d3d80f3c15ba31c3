/** GET /v2/schemas/image and /v2/schemas/images: the schemas glanceclient reads to know the image fields. */
import type { ApiServer } from '../../http/create-server.ts';
import { IMAGES_SCHEMA, IMAGE_SCHEMA } from '../schema-doc.ts';

export function registerSchemaRoutes(app: ApiServer): void {
  app.get('/v2/schemas/image', async () => IMAGE_SCHEMA);
  app.get('/v2/schemas/images', async () => IMAGES_SCHEMA);
}
