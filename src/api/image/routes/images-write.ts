/** POST /v2/images, PATCH /v2/images/{id} (JSON patch) and DELETE /v2/images/{id}. */
import type { ApiServer } from '../../http/create-server.ts';
import { parseJsonBody } from '../../http/json-body.ts';
import { parseCreateBody } from '../create-body.ts';
import { UnsupportedMediaType } from '../errors.ts';
import type { ImageRepository } from '../image-repository.ts';
import { PATCH_MEDIA_TYPES, parsePatch, patchDialect } from '../json-patch.ts';
import { imageHref, imageView } from '../view.ts';

export function registerImageWriteRoutes(app: ApiServer, images: ImageRepository): void {
  // The JSON patch media types are JSON; parsed like the server's application/json (an empty body allowed).
  app.addContentTypeParser(Object.keys(PATCH_MEDIA_TYPES), { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body, 'Malformed JSON in request body.'));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.post('/v2/images', async (request, reply) => {
    const image = await images.create(request.ctx, parseCreateBody(request.body));
    void reply.code(201).header('location', `${request.protocol}://${request.host}${imageHref(image.id)}`);
    return imageView(image);
  });

  app.patch<{ Params: { id: string } }>('/v2/images/:id', async (request, reply) => {
    let dialect;
    try {
      dialect = patchDialect(request.headers['content-type']);
    } catch (err) {
      // Glance tells the client which patch types it takes.
      if (err instanceof UnsupportedMediaType)
        void reply.header('accept-patch', Object.keys(PATCH_MEDIA_TYPES).sort().join(', '));
      throw err;
    }
    const changes = parsePatch(request.body, dialect);
    return imageView(await images.update(request.ctx, request.params.id, changes, dialect));
  });

  app.delete<{ Params: { id: string } }>('/v2/images/:id', async (request, reply) => {
    await images.delete(request.ctx, request.params.id);
    return reply.code(204).send();
  });
}
