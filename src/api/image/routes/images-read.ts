/** GET /v2/images (filtered, sorted, paginated with Glance's `first`/`next` links) and GET /v2/images/{id}. */
import type { ApiServer } from '../../http/create-server.ts';
import type { ImageRepository } from '../image-repository.ts';
import { parseListQuery } from '../list-params.ts';
import { imageView } from '../view.ts';
import { Forbidden } from '../../../common/errors.ts';
import { allowed } from '../../policy/index.ts';

type Query = Record<string, string | string[] | undefined>;

export function registerImageReadRoutes(app: ApiServer, images: ImageRepository, maxLimit: number): void {
  app.get<{ Querystring: Query }>('/v2/images', async (request) => {
    const query = parseListQuery(request.query, maxLimit);
    if (!allowed('image', request.ctx, 'get_images')) {
      throw new Forbidden('You are not authorized to complete get_images action.');
    }
    const page = await images.list(request.ctx, query);
    // Links repeat the caller's own parameters, without the marker, as Glance's do.
    const params = new URL(request.url, 'http://localhost').searchParams;
    params.delete('marker');
    const base = params.size > 0 ? `/v2/images?${params.toString()}` : '/v2/images';
    const body: Record<string, unknown> = {
      images: page.images.map(imageView),
      first: base,
      schema: '/v2/schemas/images',
    };
    if (page.nextMarker !== null) {
      params.set('marker', page.nextMarker);
      body['next'] = `/v2/images?${params.toString()}`;
    }
    return body;
  });

  app.get<{ Params: { id: string } }>('/v2/images/:id', async (request) =>
    imageView(await images.get(request.ctx, request.params.id)),
  );
}
