/**
 * The metadata versions Nova serves. EC2's are Amazon's API dates; OpenStack's correlate with the
 * release that changed the documents (Folsom .. Epoxy), each adding to what the one before served.
 */
export const EC2_VERSIONS = [
  '1.0',
  '2007-01-19',
  '2007-03-01',
  '2007-08-29',
  '2007-10-10',
  '2007-12-15',
  '2008-02-01',
  '2008-09-01',
  '2009-04-04',
] as const;

export const FOLSOM = '2012-08-10';
export const GRIZZLY = '2013-04-04';
export const HAVANA = '2013-10-17';
export const LIBERTY = '2015-10-15';
export const NEWTON_ONE = '2016-06-30';
export const NEWTON_TWO = '2016-10-06';
export const OCATA = '2017-02-22';
export const ROCKY = '2018-08-27';
export const VICTORIA = '2020-10-14';
export const EPOXY = '2025-04-04';

export const OPENSTACK_VERSIONS = [
  FOLSOM,
  GRIZZLY,
  HAVANA,
  LIBERTY,
  NEWTON_ONE,
  NEWTON_TWO,
  OCATA,
  ROCKY,
  VICTORIA,
  EPOXY,
] as const;

export type Ec2Version = (typeof EC2_VERSIONS)[number];
export type OpenstackVersion = (typeof OPENSTACK_VERSIONS)[number];

/** Whether `requested` is `required` or newer, in `versions`' order. */
export function atLeast(requested: string, required: string, versions: readonly string[]): boolean {
  return versions.indexOf(requested) >= versions.indexOf(required);
}

/** Nova's config_drive_skip_versions default: the EC2 versions a config drive leaves out. */
export const CONFIG_DRIVE_SKIP_VERSIONS: readonly string[] = EC2_VERSIONS.slice(0, 8);
