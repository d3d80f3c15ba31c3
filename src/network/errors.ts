/**
 * Neutron's exceptions, by the names and messages its clients know: the API answers with the class name
 * as the NeutronError `type` (openstacksdk and scripts match on it) and the message as Neutron words it.
 */
import { declareError, StratusError } from '../common/errors.ts';

class NeutronBadRequest extends StratusError {
  override readonly status = 400;
}
class NeutronNotFound extends StratusError {
  override readonly status = 404;
}
class NeutronConflict extends StratusError {
  override readonly status = 409;
}

/** Neutron's InvalidInput: "Invalid input for operation: ...". */
export const InvalidInput = declareError(class InvalidInput extends NeutronBadRequest {});
export function invalidInput(detail: string): StratusError {
  return new InvalidInput(`Invalid input for operation: ${detail}.`);
}

/** Neutron's HTTPBadRequest of attribute validation: "Invalid input for <attr>. Reason: ...". */
export const HTTPBadRequest = declareError(class HTTPBadRequest extends NeutronBadRequest {});
export function invalidAttribute(attr: string, reason: string): StratusError {
  return new HTTPBadRequest(`Invalid input for ${attr}. Reason: ${reason}.`);
}

/** neutron_lib's BadRequest: "Bad <resource> request: <msg>." */
export const BadRequest = declareError(class BadRequest extends NeutronBadRequest {});
export function badRequest(resource: string, msg: string): StratusError {
  return new BadRequest(`Bad ${resource} request: ${msg}.`);
}

export const PolicyNotAuthorized = declareError(
  class PolicyNotAuthorized extends StratusError {
    override readonly status = 403;
  },
);
/** Neutron names the rule that refused: `(rule:create_network:provider:network_type) is disallowed by policy`. */
export function policyRefused(rule: string): StratusError {
  return new PolicyNotAuthorized(`(rule:${rule}) is disallowed by policy`);
}

export const NetworkNotFound = declareError(class NetworkNotFound extends NeutronNotFound {});
export const SubnetNotFound = declareError(class SubnetNotFound extends NeutronNotFound {});
export const PortNotFound = declareError(class PortNotFound extends NeutronNotFound {});
export const SecurityGroupNotFound = declareError(class SecurityGroupNotFound extends NeutronNotFound {});

export const NetworkInUse = declareError(class NetworkInUse extends NeutronConflict {});
export const SubnetInUse = declareError(class SubnetInUse extends NeutronConflict {});
export const MacAddressInUse = declareError(class MacAddressInUse extends NeutronConflict {});
export const IpAddressAlreadyAllocated = declareError(class IpAddressAlreadyAllocated extends NeutronConflict {});
export const IpAddressGenerationFailure = declareError(class IpAddressGenerationFailure extends NeutronConflict {});
export const OverQuota = declareError(class OverQuota extends NeutronConflict {});
export const SegmentInUse = declareError(class SegmentInUse extends NeutronConflict {});

export const InvalidIpForSubnet = declareError(class InvalidIpForSubnet extends NeutronBadRequest {});
export const InvalidIpForNetwork = declareError(class InvalidIpForNetwork extends NeutronBadRequest {});

export const networkNotFound = (id: string) => new NetworkNotFound(`Network ${id} could not be found.`);
export const subnetNotFound = (id: string) => new SubnetNotFound(`Subnet ${id} could not be found.`);
export const portNotFound = (id: string) => new PortNotFound(`Port ${id} could not be found.`);
export const securityGroupNotFound = (id: string) => new SecurityGroupNotFound(`Security group ${id} does not exist`);
