/**
 * PUT and GET /v2/images/{id}/file. The upload body is handed to the route as the raw request stream
 * (no body limit, no buffering): the store reads it chunk by chunk, and the size cap is enforced there.
 */
import { Readable } from 'node:stream';
import type { ApiServer } from '../../http/create-server.ts';
import { UnsupportedMediaType } from '../errors.ts';
import type { ImageRepository } from '../image-repository.ts';

export function registerImageDataRoutes(app: ApiServer, images: ImageRepository, sizeCap: number): void {
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

  app.put<{ Params: { id: string } }>('/v2/images/:id/file', async (request, reply) => {
    if (!(request.body instanceof Readable)) {
      throw new UnsupportedMediaType('Image data must be sent with Content-Type: application/octet-stream.');
    }
    await images.upload(request.ctx, request.params.id, request.body, {
      sizeCap,
      declaredSize: declaredSize(request.headers),
    });
    return reply.code(204).send();
  });

  app.get<{ Params: { id: string } }>('/v2/images/:id/file', async (request, reply) => {
    const { image, stream } = await images.openData(request.ctx, request.params.id);
    if (!stream) return reply.code(204).send();
    void reply.header('content-type', 'application/octet-stream');
    if (image.size !== null) void reply.header('content-length', String(image.size));
    if (image.checksum) void reply.header('content-md5', image.checksum);
    return reply.send(stream);
  });
}

/** The size the client announces: Glance's x-openstack-image-size header, else Content-Length. */
function declaredSize(headers: Record<string, string | string[] | undefined>): number | undefined {
  for (const name of ['x-openstack-image-size', 'content-length']) {
    const value = headers[name];
    if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  }
  return undefined;
}
