/** PUT and DELETE /v2/images/{id}/tags/{tag}: `openstack image unset --tag` uses the delete. */
import type { ApiServer } from '../../http/create-server.ts';
import type { ImageRepository } from '../image-repository.ts';
import { checkTag } from '../validation.ts';

type Params = { id: string; tag: string };

export function registerImageTagRoutes(app: ApiServer, images: ImageRepository): void {
  app.put<{ Params: Params }>('/v2/images/:id/tags/:tag', async (request, reply) => {
    checkTag(request.params.tag);
    await images.addTag(request.ctx, request.params.id, request.params.tag);
    return reply.code(204).send();
  });

  app.delete<{ Params: Params }>('/v2/images/:id/tags/:tag', async (request, reply) => {
    await images.removeTag(request.ctx, request.params.id, request.params.tag);
    return reply.code(204).send();
  });
}
