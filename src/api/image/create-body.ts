/** The body of POST /v2/images, checked and split into core attributes, tags and free-form properties. */
import { BadRequest } from '../../common/errors.ts';
import { CORE_ATTRIBUTES, isCoreAttribute, type ImageAttributes } from './model.ts';
import { checkAgainstSchema, checkQuotas, checkWritableName } from './validation.ts';

export interface CreateInput {
  readonly id?: string;
  readonly attributes: ImageAttributes;
  readonly tags: readonly string[];
  readonly properties: Readonly<Record<string, string>>;
}

export function parseCreateBody(body: unknown): CreateInput {
  if (body === undefined || body === null) throw new BadRequest('Body expected in request.');
  if (typeof body !== 'object' || Array.isArray(body)) throw new BadRequest('The request body must be a JSON object.');
  const fields = body as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    // An id is read-only once the image exists, but a caller may choose it on create.
    if (key !== 'id') checkWritableName(key);
  }
  checkAgainstSchema(fields);

  const attributes: Record<string, unknown> = {};
  const properties: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'id' || key === 'tags') continue;
    if (isCoreAttribute(key)) attributes[CORE_ATTRIBUTES[key]] = value;
    else properties[key] = value as string;
  }
  const tags = uniqueTags(fields['tags'] as string[] | undefined);
  checkQuotas(Object.keys(properties).length, tags.length);
  return { id: fields['id'] as string | undefined, attributes: attributes as ImageAttributes, tags, properties };
}

/** Tags are a set in Glance; duplicates collapse, first occurrence keeps its place. */
export function uniqueTags(tags: readonly string[] | undefined): string[] {
  return [...new Set(tags ?? [])];
}
