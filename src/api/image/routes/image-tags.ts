/** PUT and DELETE /v2/images/{id}/tags/{tag}: `openstack image unset --tag` uses the delete. */
import { BadRequest } from '../../../common/errors.ts';
import type { ApiServer } from '../../http/create-server.ts';
import type { ImageRepository } from '../image-repository.ts';
import { MAX_STRING } from '../model.ts';

type Params = { id: string; tag: string };

export function registerImageTagRoutes(app: ApiServer, images: ImageRepository): void {
  app.put<{ Params: Params }>('/v2/images/:id/tags/:tag', async (request, reply) => {
    if (request.params.tag.length > MAX_STRING)
      throw new BadRequest(`Tags may be at most ${MAX_STRING} characters long.`);
    await images.addTag(request.ctx, request.params.id, request.params.tag);
    return reply.code(204).send();
  });

  app.delete<{ Params: Params }>('/v2/images/:id/tags/:tag', async (request, reply) => {
    await images.removeTag(request.ctx, request.params.id, request.params.tag);
    return reply.code(204).send();
  });
}
