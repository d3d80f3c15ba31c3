/** Flavors as Nova shows them at each microversion (views/flavors.py). */
import type { FastifyRequest } from 'fastify';
import type { Flavor } from '../../../objects/flavors.ts';
import { resourceLinks } from '../links.ts';
import { atLeast } from '../microversion.ts';

/** GET /flavors: id, name, links (and description from 2.55). */
export function flavorBasicView(request: FastifyRequest, flavor: Flavor): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: flavor.flavorid,
    name: flavor.name,
    links: resourceLinks(request, 'flavors', flavor.flavorid),
  };
  if (atLeast(request, '2.55')) view['description'] = flavor.description;
  return view;
}

/** GET /flavors/{id}, /flavors/detail and the create/update responses. */
export function flavorView(request: FastifyRequest, flavor: Flavor): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: flavor.flavorid,
    name: flavor.name,
    ram: flavor.memory_mb,
    disk: flavor.root_gb,
    // Nova showed "no swap" as "" until 2.75 made it 0; clients of old versions test for "".
    swap: atLeast(request, '2.75') ? flavor.swap || 0 : flavor.swap || '',
    'OS-FLV-EXT-DATA:ephemeral': flavor.ephemeral_gb,
    'OS-FLV-DISABLED:disabled': flavor.disabled,
    vcpus: flavor.vcpus,
    'os-flavor-access:is_public': flavor.is_public,
    rxtx_factor: flavor.rxtx_factor || '',
    links: resourceLinks(request, 'flavors', flavor.flavorid),
  };
  if (atLeast(request, '2.55')) view['description'] = flavor.description;
  // Nova's default policy lets every reader of a flavor see its extra specs.
  if (atLeast(request, '2.61')) view['extra_specs'] = { ...flavor.extra_specs };
  return view;
}
