/**
 * Who may see and change an image, following Glance's default policy:
 * - anyone sees public and community images; the owner project sees all of its own; admin sees all;
 * - only the owner project or an admin changes, uploads to or deletes an image;
 * - only an admin makes an image public or gives it to another project.
 * Image sharing through members is not implemented, so a `shared` image is seen by its owner only.
 */
import type { RequestContext } from '../../common/context.ts';
import { Forbidden, NotFound } from '../../common/errors.ts';
import { allowed, type Target } from '../policy/index.ts';
import type { Image, Visibility } from './model.ts';

/** The project acting, or null for a token without one (the API gives an empty string then). */
export function actingProject(ctx: RequestContext): string | null {
  return ctx.projectId ? ctx.projectId : null;
}

/** Glance's target for an image: its owner (also as project_id) and visibility. */
function imageTarget(image: Pick<Image, 'owner'> & Partial<Pick<Image, 'visibility'>>): Target {
  return { owner: image.owner, project_id: image.owner, visibility: image.visibility ?? null };
}

export function canSee(ctx: RequestContext, image: Pick<Image, 'owner' | 'visibility'>): boolean {
  return allowed('image', ctx, 'get_image', imageTarget(image));
}

/** The image if `ctx` may see it; anything else looks like a missing image, so ids of others do not leak. */
export function requireVisible<T extends Pick<Image, 'id' | 'owner' | 'visibility'>>(
  ctx: RequestContext,
  image: T | null,
  id: string,
): T {
  if (!image || !canSee(ctx, image)) throw new NotFound(`No image found with ID ${id}`);
  return image;
}

/** Glance's rule for each change, by the words of the refusal. */
const CHANGE_RULES = { modify: 'modify_image', delete: 'delete_image', 'upload data to': 'upload_image' } as const;

/** Refuses a change by someone who may see but not touch the image (another project's public image). */
export function requireModify(
  ctx: RequestContext,
  image: Pick<Image, 'owner'>,
  action: keyof typeof CHANGE_RULES,
): void {
  if (!allowed('image', ctx, CHANGE_RULES[action], imageTarget(image))) {
    throw new Forbidden(`You are not permitted to ${action} this image.`);
  }
}

/** Publicizing is an admin action in Glance's default policy (`publicize_image`). */
export function requireVisibilityAllowed(ctx: RequestContext, visibility: Visibility): void {
  if (visibility === 'public' && !allowed('image', ctx, 'publicize_image')) {
    throw new Forbidden('You are not authorized to complete publicize_image action.');
  }
}

/** By default only an admin may name another project as owner (Glance's add_image on the owner). */
export function requireOwnerAllowed(ctx: RequestContext, owner: string | null): void {
  if (!allowed('image', ctx, 'add_image', { owner, project_id: owner })) {
    throw new Forbidden(`You are not permitted to create images owned by '${owner ?? ''}'.`);
  }
}
