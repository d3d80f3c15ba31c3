/**
 * Request bodies checked the way Neutron's API layer checks them, attribute by attribute, with its
 * messages: an unknown attribute, one not allowed on POST or PUT, a missing required one, or a value
 * that does not convert all answer 400 before anything is written.
 */
import { HTTPBadRequest, invalidAttribute } from '../../network/errors.ts';

export type Converted = { ok: true; value: unknown } | { ok: false; reason: string };

export interface AttributeSpec {
  allowPost: boolean;
  allowPut: boolean;
  /** Required on POST (no default). */
  required?: boolean;
  /** Converts and checks a value the client sent. */
  convert?: (value: unknown) => Converted;
}

export type AttributeSpecs = Record<string, AttributeSpec>;

const ok = (value: unknown): Converted => ({ ok: true, value });
const fail = (reason: string): Converted => ({ ok: false, reason });
const show = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

export function stringAttr(maxLength = 255): (value: unknown) => Converted {
  return (value) => {
    if (typeof value !== 'string') return fail(`'${show(value)}' is not a valid string`);
    if (value.length > maxLength) return fail(`'${value}' exceeds maximum length of ${maxLength}`);
    return ok(value);
  };
}

/** Neutron's convert_to_boolean: true/false, their strings in any case, 0 and 1. */
export function booleanAttr(value: unknown): Converted {
  if (typeof value === 'boolean') return ok(value);
  if (value === 0 || value === 1) return ok(value === 1);
  if (typeof value === 'string' && ['true', 'false', '0', '1'].includes(value.toLowerCase())) {
    return ok(value.toLowerCase() === 'true' || value === '1');
  }
  return fail(`'${show(value)}' cannot be converted to boolean`);
}

export function intAttr(min: number, max: number): (value: unknown) => Converted {
  return (value) => {
    const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n)) return fail(`'${show(value)}' is not an integer`);
    if (n < min || n > max) return fail(`'${n}' is not in range ${min} through ${max}`);
    return ok(n);
  };
}

export function nullable(convert: (value: unknown) => Converted): (value: unknown) => Converted {
  return (value) => (value === null ? ok(null) : convert(value));
}

export function dictAttr(value: unknown): Converted {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(`'${show(value)}' is not a dictionary`);
  }
  return ok(value);
}

export function listAttr(value: unknown): Converted {
  return Array.isArray(value) ? ok(value) : fail(`'${show(value)}' is not a list`);
}

export function uuidAttr(value: unknown): Converted {
  if (typeof value !== 'string' || !/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(value)) {
    return fail(`'${show(value)}' is not a valid UUID`);
  }
  return ok(value);
}

export function enumAttr(values: readonly string[]): (value: unknown) => Converted {
  return (value) =>
    typeof value === 'string' && values.includes(value)
      ? ok(value)
      : fail(`'${show(value)}' is not in [${values.map((v) => `'${v}'`).join(', ')}]`);
}

/**
 * The resource's attributes from `{"<resource>": {...}}`, converted; only those the client gave.
 * `project_id` and `tenant_id` are one attribute: both may come, and must then agree.
 */
export function parseResourceBody(
  resource: string,
  body: unknown,
  specs: AttributeSpecs,
  method: 'POST' | 'PUT',
): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HTTPBadRequest('Resource body required');
  }
  const inner = (body as Record<string, unknown>)[resource];
  if (inner === undefined) throw new HTTPBadRequest(`Unable to find '${resource}' in request body`);
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) {
    throw new HTTPBadRequest(`Body contains invalid data`);
  }
  const given = { ...(inner as Record<string, unknown>) };
  if ('tenant_id' in given) {
    if ('project_id' in given && given['project_id'] !== given['tenant_id']) {
      throw new HTTPBadRequest("'project_id' and 'tenant_id' do not match");
    }
    given['project_id'] = given['tenant_id'];
    delete given['tenant_id'];
  }
  const unknown = Object.keys(given).filter((k) => !Object.hasOwn(specs, k));
  if (unknown.length > 0) throw new HTTPBadRequest(`Unrecognized attribute(s) '${unknown.join(', ')}'`);
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    if (!Object.hasOwn(given, name)) {
      if (method === 'POST' && spec.required) {
        throw new HTTPBadRequest(`Failed to parse request. Required attribute '${name}' not specified`);
      }
      continue;
    }
    if (method === 'POST' && !spec.allowPost) throw new HTTPBadRequest(`Attribute '${name}' not allowed in POST`);
    if (method === 'PUT' && !spec.allowPut) throw new HTTPBadRequest(`Cannot update read-only attribute ${name}`);
    const converted = spec.convert ? spec.convert(given[name]) : ok(given[name]);
    if (!converted.ok) throw invalidAttribute(name, converted.reason);
    out[name] = converted.value;
  }
  return out;
}
