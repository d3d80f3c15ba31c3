/**
 * Flavor extra specs (/flavors/{id}/os-extra_specs): readable by whoever sees the flavor, written by
 * admins. Nova accepts numbers as values and stores them as text.
 */
import { Type } from 'typebox';
import { BadRequest, NotFound } from '../../../common/errors.ts';
import { quotaSpecProblems } from '../../../common/flavor-quota-specs.ts';
import { deleteExtraSpec, setExtraSpecs } from '../../../objects/flavors.ts';
import type { ApiServer } from '../../http/create-server.ts';
import { authorize } from '../../policy.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { Metadata } from '../schema-types.ts';
import { validateBody } from '../validate.ts';
import { atLeast } from '../microversion.ts';
import { validateExtraSpecs } from './extra-spec-validators.ts';
import { visibleFlavor } from './lookup.ts';
import { notifyFlavor } from './notify.ts';

type SpecValues = Record<string, string | number>;

const SpecValue = Type.Unsafe({ type: ['string', 'number'], maxLength: 255 });
const CREATE = Type.Object({ extra_specs: Metadata({ values: SpecValue }) }, { additionalProperties: false });
const UPDATE = Metadata({ values: SpecValue, minProperties: 1, maxProperties: 1 });

/**
 * Numbers become text; Nova checks the length of that text too. The `quota:*` values the compute hosts
 * apply (disk and CPU limits) must be non-negative integers, as Nova's validators say. Nova checks them
 * only from microversion 2.86; Stratus checks them at every version, because a value the host cannot
 * apply would leave the guest silently unlimited. From 2.86 every spec Nova knows is checked
 * (extra-spec-validators.ts).
 */
function asText(specs: SpecValues, strict: boolean): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(specs)) {
    const text = String(value);
    if (text.length > 255)
      throw new BadRequest(`Invalid input received: extra_specs value has more than 255 characters.`);
    result[key] = text;
  }
  const problems = quotaSpecProblems(result);
  if (problems.length) throw new BadRequest(`Validation failed; ${problems.join('; ')}.`);
  if (strict) validateExtraSpecs(result);
  return result;
}

export function registerExtraSpecRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;
  type Params = { Params: { id: string } };
  type KeyParams = { Params: { id: string; key: string } };

  app.get<Params>('/flavors/:id/os-extra_specs', async (request) => {
    authorize(request.ctx, 'os_compute_api:os-flavor-extra-specs:index');
    const flavor = await visibleFlavor(db, request.ctx, request.params.id);
    return { extra_specs: { ...flavor.extra_specs } };
  });

  app.post<Params>('/flavors/:id/os-extra_specs', async (request) => {
    authorize(request.ctx, 'os_compute_api:os-flavor-extra-specs:create');
    const body = validateBody<{ extra_specs: SpecValues }>(CREATE, request.body);
    const flavor = await setExtraSpecs(db, request.params.id, asText(body.extra_specs, atLeast(request, '2.86')));
    await notifyFlavor(deps, request.ctx, 'update', flavor);
    return body;
  });

  app.get<KeyParams>('/flavors/:id/os-extra_specs/:key', async (request) => {
    const { id: flavorId, key } = request.params;
    authorize(request.ctx, 'os_compute_api:os-flavor-extra-specs:show');
    const flavor = await visibleFlavor(db, request.ctx, flavorId);
    const value = flavor.extra_specs[key];
    if (value === undefined) throw new NotFound(`Flavor ${flavorId} has no extra specs with key ${key}.`);
    return { [key]: value };
  });

  app.put<KeyParams>('/flavors/:id/os-extra_specs/:key', async (request) => {
    authorize(request.ctx, 'os_compute_api:os-flavor-extra-specs:update');
    const body = validateBody<SpecValues>(UPDATE, request.body);
    if (!(request.params.key in body)) throw new BadRequest('Request body and URI mismatch');
    const flavor = await setExtraSpecs(db, request.params.id, asText(body, atLeast(request, '2.86')));
    await notifyFlavor(deps, request.ctx, 'update', flavor);
    return body;
  });

  app.delete<KeyParams>('/flavors/:id/os-extra_specs/:key', async (request) => {
    authorize(request.ctx, 'os_compute_api:os-flavor-extra-specs:delete');
    await deleteExtraSpec(db, request.params.id, request.params.key);
    await notifyFlavor(deps, request.ctx, 'update', request.params.id);
    // Nova answers this delete with 200 and no body.
    return '';
  });
}
