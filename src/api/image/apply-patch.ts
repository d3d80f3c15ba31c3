/**
 * What a JSON patch does to an image, with Glance's semantics, computed without touching the database:
 * `add` sets (an attribute, a new or existing property), `replace` sets what exists, `remove` deletes a
 * property (core attributes cannot be removed). Policy checks that depend on the value run here too.
 */
import type { RequestContext } from '../../common/context.ts';
import { Conflict, Forbidden } from '../../common/errors.ts';
import { requireVisibilityAllowed } from './access.ts';
import { uniqueTags } from './create-body.ts';
import type { PatchChange, PatchDialect } from './json-patch.ts';
import { CORE_ATTRIBUTES, isCoreAttribute, type Image, type ImageAttributes, type Visibility } from './model.ts';
import { checkQuotas } from './validation.ts';

export interface PatchResult {
  readonly attributes: ImageAttributes;
  readonly properties: Record<string, string>;
  readonly tags: string[];
  readonly propertiesChanged: boolean;
  readonly tagsChanged: boolean;
}

export function applyPatch(
  ctx: RequestContext,
  image: Image,
  changes: readonly PatchChange[],
  dialect: PatchDialect,
): PatchResult {
  const attributes: Record<string, unknown> = {};
  const properties = { ...image.properties };
  let tags = [...image.tags];
  let propertiesChanged = false;
  let tagsChanged = false;

  for (const change of changes) {
    const { op, name } = change;
    const isAttribute = isCoreAttribute(name) || name === 'tags';
    const exists = isAttribute || Object.hasOwn(properties, name);
    if (op === 'add' && dialect === 4 && exists) throw new Conflict(`Property ${name} already present.`);
    if (op === 'replace' && !exists) throw new Conflict(`Property ${name} does not exist.`);
    if (op === 'remove') {
      if (isAttribute) throw new Forbidden(`Property ${name} may not be removed.`);
      if (!exists) throw new Conflict(`Property ${name} does not exist.`);
      delete properties[name];
      propertiesChanged = true;
      continue;
    }
    if (name === 'tags') {
      tags = uniqueTags(change.value as string[]);
      tagsChanged = true;
    } else if (isCoreAttribute(name)) {
      checkAttributeChange(ctx, image, name, change.value);
      attributes[CORE_ATTRIBUTES[name]] = change.value;
    } else {
      properties[name] = change.value as string;
      propertiesChanged = true;
    }
  }
  checkQuotas(Object.keys(properties).length, tags.length);
  return { attributes: attributes as ImageAttributes, properties, tags, propertiesChanged, tagsChanged };
}

function checkAttributeChange(
  ctx: RequestContext,
  image: Image,
  name: keyof typeof CORE_ATTRIBUTES,
  value: unknown,
): void {
  switch (name) {
    case 'owner':
      if (!ctx.isAdmin) throw new Forbidden("Owner can't be updated by non admin.");
      return;
    case 'visibility':
      requireVisibilityAllowed(ctx, value as Visibility);
      return;
    case 'disk_format':
    case 'container_format':
      // The data was checked against the formats when it went in; changing them afterwards would lie.
      if (image.status !== 'queued' && value !== (name === 'disk_format' ? image.diskFormat : image.containerFormat)) {
        throw new Forbidden(`Attribute ${name} can be only replaced for a queued image.`);
      }
      return;
    default:
      return;
  }
}
