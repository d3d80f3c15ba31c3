/**
 * Neutron's security group exceptions, by the class names clients match on (the NeutronError `type`)
 * and with Neutron's wording. SecurityGroupNotFound lives with the core errors in errors.ts.
 */
import { declareError, StratusError } from '../common/errors.ts';

class SgBadRequest extends StratusError {
  override readonly status = 400;
}
class SgConflict extends StratusError {
  override readonly status = 409;
}

export const SecurityGroupInUse = declareError(class SecurityGroupInUse extends SgConflict {});
export const SecurityGroupCannotRemoveDefault = declareError(
  class SecurityGroupCannotRemoveDefault extends SgConflict {},
);
export const SecurityGroupCannotUpdateDefault = declareError(
  class SecurityGroupCannotUpdateDefault extends SgConflict {},
);
export const SecurityGroupDefaultAlreadyExists = declareError(
  class SecurityGroupDefaultAlreadyExists extends SgConflict {},
);
export const SecurityGroupRuleExists = declareError(class SecurityGroupRuleExists extends SgConflict {});
export const SecurityGroupRuleNotFound = declareError(
  class SecurityGroupRuleNotFound extends StratusError {
    override readonly status = 404;
  },
);

export const SecurityGroupRuleInvalidProtocol = declareError(
  class SecurityGroupRuleInvalidProtocol extends SgBadRequest {},
);
export const SecurityGroupRuleInvalidEtherType = declareError(
  class SecurityGroupRuleInvalidEtherType extends SgBadRequest {},
);
export const SecurityGroupInvalidPortValue = declareError(class SecurityGroupInvalidPortValue extends SgBadRequest {});
export const SecurityGroupInvalidPortRange = declareError(class SecurityGroupInvalidPortRange extends SgBadRequest {});
export const SecurityGroupInvalidIcmpValue = declareError(class SecurityGroupInvalidIcmpValue extends SgBadRequest {});
export const SecurityGroupMissingIcmpType = declareError(class SecurityGroupMissingIcmpType extends SgBadRequest {});
export const SecurityGroupInvalidProtocolForPort = declareError(
  class SecurityGroupInvalidProtocolForPort extends SgBadRequest {},
);
export const SecurityGroupProtocolRequiredWithPorts = declareError(
  class SecurityGroupProtocolRequiredWithPorts extends SgBadRequest {},
);
export const SecurityGroupRuleParameterConflict = declareError(
  class SecurityGroupRuleParameterConflict extends SgBadRequest {},
);
export const SecurityGroupEthertypeConflictWithProtocol = declareError(
  class SecurityGroupEthertypeConflictWithProtocol extends SgBadRequest {},
);
export const SecurityGroupMultipleRemoteEntites = declareError(
  class SecurityGroupMultipleRemoteEntites extends SgBadRequest {},
);
export const InvalidCIDR = declareError(class InvalidCIDR extends SgBadRequest {});

export const securityGroupInUse = (id: string) => new SecurityGroupInUse(`Security Group ${id} in use.`);
export const securityGroupRuleNotFound = (id: string) =>
  new SecurityGroupRuleNotFound(`Security group rule ${id} does not exist`);
