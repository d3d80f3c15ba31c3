/**
 * Neutron's router and floating IP exceptions, by the class names clients match on (the NeutronError
 * `type`), with Neutron's wording.
 */
import { declareError, StratusError } from '../common/errors.ts';

class L3NotFound extends StratusError {
  override readonly status = 404;
}
class L3Conflict extends StratusError {
  override readonly status = 409;
}
class L3BadRequest extends StratusError {
  override readonly status = 400;
}

export const RouterNotFound = declareError(class RouterNotFound extends L3NotFound {});
export const RouterInUse = declareError(class RouterInUse extends L3Conflict {});
export const RouterInterfaceNotFound = declareError(class RouterInterfaceNotFound extends L3NotFound {});
export const RouterInterfaceNotFoundForSubnet = declareError(
  class RouterInterfaceNotFoundForSubnet extends L3NotFound {},
);
export const RouterInterfaceInUseByFloatingIP = declareError(
  class RouterInterfaceInUseByFloatingIP extends L3Conflict {},
);
export const RouterExternalGatewayInUseByFloatingIp = declareError(
  class RouterExternalGatewayInUseByFloatingIp extends L3Conflict {},
);
export const FloatingIPNotFound = declareError(class FloatingIPNotFound extends L3NotFound {});
export const ExternalGatewayForFloatingIPNotFound = declareError(
  class ExternalGatewayForFloatingIPNotFound extends L3NotFound {},
);
export const FloatingIPPortAlreadyAssociated = declareError(
  class FloatingIPPortAlreadyAssociated extends L3Conflict {},
);
export const PortInUse = declareError(class PortInUse extends L3Conflict {});
export const SubnetMismatchForPort = declareError(class SubnetMismatchForPort extends L3BadRequest {});
export const InvalidRoutes = declareError(class InvalidRoutes extends L3BadRequest {});
export const ExternalIpAddressExhausted = declareError(class ExternalIpAddressExhausted extends L3BadRequest {});

export const routerNotFound = (id: string) => new RouterNotFound(`Router ${id} could not be found`);
export const floatingIpNotFound = (id: string) => new FloatingIPNotFound(`Floating IP ${id} could not be found`);
