/**
 * Request schemas shared by the identity routes. Limits are Keystone's: user and role names up to 255
 * characters, project and domain names up to 64; a name must contain a non-blank character.
 */
import { Type } from 'typebox';

export const ProjectName = Type.String({ minLength: 1, maxLength: 64, pattern: '\\S' });
export const DomainName = ProjectName;
export const UserName = Type.String({ minLength: 1, maxLength: 255, pattern: '\\S' });
export const RoleName = UserName;
export const Description = Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 65535 });
export const IdString = Type.String({ minLength: 1, maxLength: 64 });
export const NullableId = Type.Unsafe<string | null>({ type: ['string', 'null'], minLength: 1, maxLength: 64 });

/**
 * Keystone's resource options and tags. Clients send them empty by default (`openstack project create`
 * always sends `tags: []`); Stratus stores neither, so only the empty forms are accepted.
 */
export const NoTags = Type.Array(Type.String(), {
  maxItems: 0,
  description: 'tags are not supported',
});
export const NoOptions = Type.Object({}, { additionalProperties: false });

/** Path ids are not length-checked: an unknown id of any form is a 404, as in Keystone. */
export const IdParams = Type.Object({ id: Type.String() });

/** List filters; unknown ones are ignored, as Keystone ignores filters it does not know. */
export const Filter = Type.Optional(Type.String({ maxLength: 255 }));
