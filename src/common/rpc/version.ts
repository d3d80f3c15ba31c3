/**
 * RPC contract versions, `major.minor` as Nova writes them: a minor bump adds a method or an optional
 * argument that an older server can do without; a major bump would be a contract older servers cannot read.
 */
export type RpcVersion = `${number}.${number}`;

/** What a message without a version (sent by a release before versions were carried) is read as. */
export const BASE_VERSION: RpcVersion = '1.0';

const VERSION = /^(\d+)\.(\d+)$/;

export function isRpcVersion(value: string): value is RpcVersion {
  return VERSION.test(value);
}

export function parseVersion(version: string): [number, number] {
  const m = VERSION.exec(version);
  if (!m) throw new Error(`'${version}' is not an RPC version (major.minor)`);
  return [Number(m[1]), Number(m[2])];
}

/** Negative, zero or positive as `a` is older than, the same as, or newer than `b`. */
export function compareVersions(a: string, b: string): number {
  const [aMajor, aMinor] = parseVersion(a);
  const [bMajor, bMinor] = parseVersion(b);
  return aMajor - bMajor || aMinor - bMinor;
}

/** Whether a server of contract version `server` can read a message written in version `message`. */
export function canRead(server: string, message: string): boolean {
  const [sMajor, sMinor] = parseVersion(server);
  const [mMajor, mMinor] = parseVersion(message);
  return sMajor === mMajor && mMinor <= sMinor;
}
