/**
 * Images as the rest of Stratus uses them: the image API's routes, the compute API (which checks the
 * image of a new server as the user who asked) and, through the compute API's download, the compute
 * hosts. Every method takes the caller's context and applies Glance's visibility and ownership rules,
 * so no caller can see or touch an image the user could not.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { RequestContext } from '../../common/context.ts';
import type { Database, Db } from '../../common/db/database.ts';
import { BadRequest, Conflict, Forbidden, NotFound } from '../../common/errors.ts';
import { getLogger } from '../../common/log/logger.ts';
import {
  actingProject,
  canSee,
  requireModify,
  requireOwnerAllowed,
  requireVisibilityAllowed,
  requireVisible,
} from './access.ts';
import { applyPatch } from './apply-patch.ts';
import type { CreateInput } from './create-body.ts';
import { selectImagePage } from './db/list-query.ts';
import { findImage, findRow, idTaken, imageNow, insertImage, markDeleted, saveImage } from './db/queries.ts';
import { hydrate } from './db/rows.ts';
import type { PatchChange, PatchDialect } from './json-patch.ts';
import type { ListQuery } from './list-params.ts';
import type { Image } from './model.ts';
import type { ImageStore } from './store/image-store.ts';
import { uploadData, type UploadOptions } from './upload.ts';
import { checkQuotas } from './validation.ts';

const log = getLogger('api.image');

export interface ImagePage {
  readonly images: Image[];
  /** Set when the page is full: the id to pass as `marker` for the next page. */
  readonly nextMarker: string | null;
}

export interface ImageData {
  readonly image: Image;
  /** null when the image has no data yet (Glance answers 204 then). */
  readonly stream: Readable | null;
}

export class ImageRepository {
  private readonly db: Db;

  constructor(
    database: Database,
    private readonly store: ImageStore,
  ) {
    this.db = database.db;
  }

  /** The image, if `ctx` may see it; NotFound otherwise (including for ids of others' private images). */
  async get(ctx: RequestContext, id: string): Promise<Image> {
    return requireVisible(ctx, await findImage(this.db, id), id);
  }

  /** Like get, but null where get would throw NotFound. */
  async findVisible(ctx: RequestContext, id: string): Promise<Image | null> {
    const image = await findImage(this.db, id);
    return image && canSee(ctx, image) ? image : null;
  }

  async list(ctx: RequestContext, query: ListQuery): Promise<ImagePage> {
    let marker = null;
    if (query.marker !== undefined) {
      marker = await findRow(this.db, query.marker);
      if (!marker || !canSee(ctx, { owner: marker.owner, visibility: marker.visibility as Image['visibility'] })) {
        throw new BadRequest(`No image found with ID ${query.marker}`);
      }
    }
    const rows = await selectImagePage(this.db, ctx, query, marker);
    const images = await hydrate(this.db, rows);
    const last = images[images.length - 1];
    return { images, nextMarker: last && images.length === query.limit ? last.id : null };
  }

  async create(ctx: RequestContext, input: CreateInput): Promise<Image> {
    const owner = input.attributes.owner !== undefined ? input.attributes.owner : actingProject(ctx);
    requireOwnerAllowed(ctx, owner);
    const visibility = input.attributes.visibility ?? 'shared';
    requireVisibilityAllowed(ctx, visibility);
    const id = input.id ?? randomUUID();
    if (await idTaken(this.db, id)) throw new Conflict(`Image with identifier ${id} already exists!`);
    const now = imageNow();
    const a = input.attributes;
    try {
      await insertImage(
        this.db,
        {
          id,
          name: a.name ?? null,
          status: 'queued',
          disk_format: a.diskFormat ?? null,
          container_format: a.containerFormat ?? null,
          visibility,
          owner,
          size: null,
          virtual_size: null,
          checksum: null,
          os_hash_algo: null,
          os_hash_value: null,
          min_disk: a.minDisk ?? 0,
          min_ram: a.minRam ?? 0,
          protected: a.protected ? 1 : 0,
          os_hidden: a.osHidden ? 1 : 0,
          location: null,
          created_at: now,
          updated_at: now,
          deleted_at: null,
        },
        input.properties,
        input.tags,
      );
    } catch (err) {
      // Two creates racing for the same chosen id: the loser hits the primary key.
      if (await idTaken(this.db, id)) throw new Conflict(`Image with identifier ${id} already exists!`);
      throw err;
    }
    return this.get(ctx, id);
  }

  async update(
    ctx: RequestContext,
    id: string,
    changes: readonly PatchChange[],
    dialect: PatchDialect,
  ): Promise<Image> {
    const image = await this.get(ctx, id);
    requireModify(ctx, image, 'modify');
    if (changes.length === 0) return image;
    const result = applyPatch(ctx, image, changes, dialect);
    const a = result.attributes;
    const saved = await saveImage(
      this.db,
      id,
      {
        ...(a.name !== undefined && { name: a.name }),
        ...(a.diskFormat !== undefined && { disk_format: a.diskFormat }),
        ...(a.containerFormat !== undefined && { container_format: a.containerFormat }),
        ...(a.visibility !== undefined && { visibility: a.visibility }),
        ...(a.owner !== undefined && { owner: a.owner }),
        ...(a.minDisk !== undefined && { min_disk: a.minDisk }),
        ...(a.minRam !== undefined && { min_ram: a.minRam }),
        ...(a.protected !== undefined && { protected: a.protected ? 1 : 0 }),
        ...(a.osHidden !== undefined && { os_hidden: a.osHidden ? 1 : 0 }),
      },
      result.propertiesChanged ? result.properties : undefined,
      result.tagsChanged ? result.tags : undefined,
    );
    if (!saved) throw new NotFound(`No image found with ID ${id}`);
    return this.get(ctx, id);
  }

  async addTag(ctx: RequestContext, id: string, tag: string): Promise<void> {
    const image = await this.get(ctx, id);
    requireModify(ctx, image, 'modify');
    if (image.tags.includes(tag)) return;
    checkQuotas(Object.keys(image.properties).length, image.tags.length + 1);
    await saveImage(this.db, id, {}, undefined, [...image.tags, tag]);
  }

  async removeTag(ctx: RequestContext, id: string, tag: string): Promise<void> {
    const image = await this.get(ctx, id);
    requireModify(ctx, image, 'modify');
    if (!image.tags.includes(tag)) throw new NotFound(`Tag ${tag} not found`);
    await saveImage(
      this.db,
      id,
      {},
      undefined,
      image.tags.filter((t) => t !== tag),
    );
  }

  /** Deletes the image and its data; a protected image is refused (403) until unprotected. */
  async delete(ctx: RequestContext, id: string): Promise<void> {
    const image = await this.get(ctx, id);
    requireModify(ctx, image, 'delete');
    if (image.protected) throw new Forbidden(`Image ${id} is protected and cannot be deleted.`);
    if (!(await markDeleted(this.db, id))) throw new NotFound(`No image found with ID ${id}`);
    if (image.location) {
      // The row is gone already; a file left behind is an operator's cleanup, not the user's error.
      await this.store
        .delete(image.location)
        .catch((err: unknown) => log.error({ err, image: id }, 'cannot delete image data'));
    }
  }

  upload(ctx: RequestContext, id: string, data: Readable, options: UploadOptions): Promise<Image> {
    return uploadData(this.db, this.store, ctx, id, data, options);
  }

  /** The image and a stream of its data, for a caller allowed to see it. */
  async openData(ctx: RequestContext, id: string): Promise<ImageData> {
    const image = await this.get(ctx, id);
    if (image.status === 'deactivated' && !ctx.isAdmin) {
      throw new Forbidden('The requested image has been deactivated. Image data download is forbidden.');
    }
    if (!image.location || image.status !== 'active') return { image, stream: null };
    return { image, stream: await this.store.get(image.location) };
  }
}
