/**
 * OpenSSH public keys as Nova accepts them for key pairs: an `authorized_keys` line `type base64 [comment]`
 * whose blob is a valid ssh-rsa, ssh-dss, ssh-ed25519 or ecdsa-sha2-nistp256/384/521 key. The blob is
 * parsed here (ssh-wire.ts) and the key imported into node:crypto, which refuses what OpenSSL would not
 * use (a point off its curve, for one); the checks pyca/cryptography adds on top (RSA exponent, DSA sizes)
 * are made here too, so what Nova refuses is refused. Also Nova's key generation (RSA 2048, the private
 * key in PKCS#1 PEM as paramiko writes it).
 */
import { createHash, createPublicKey, generateKeyPair, type JsonWebKey, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { DER_OID_DSA, derBitString, derSequence, derUnsignedInteger } from './der.ts';
import { SshWireError, SshWireReader, SshWireWriter } from './ssh-wire.ts';

const generateKeyPairAsync = promisify(generateKeyPair);

/** Why a public key was refused; the message is shown to the user. */
export class InvalidPublicKey extends Error {}

const EC_CURVES: Readonly<Record<string, { jwk: string; coordinateBytes: number }>> = {
  nistp256: { jwk: 'P-256', coordinateBytes: 32 },
  nistp384: { jwk: 'P-384', coordinateBytes: 48 },
  nistp521: { jwk: 'P-521', coordinateBytes: 66 },
};

export const SSH_KEY_TYPES = [
  'ssh-rsa',
  'ssh-dss',
  'ssh-ed25519',
  ...Object.keys(EC_CURVES).map((curve) => `ecdsa-sha2-${curve}`),
] as const;

export interface SshPublicKey {
  /** The algorithm name, e.g. ssh-ed25519. */
  readonly type: string;
  /** The decoded wire-format blob. */
  readonly blob: Buffer;
  readonly key: KeyObject;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parses and checks one public key line; InvalidPublicKey says what is wrong with it. */
export function parseSshPublicKey(line: string): SshPublicKey {
  // As OpenSSH and pyca/cryptography read it: the type, blanks, the base64 blob, then anything (a comment).
  const match = /^(\S+)[ \t]+(\S+)/.exec(line);
  if (!match) throw new InvalidPublicKey('the key is not of the form "<type> <base64 key data> [comment]"');
  const [, type, encoded] = match as unknown as [string, string, string];
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) throw new InvalidPublicKey('the key data is not base64');
  const blob = Buffer.from(encoded, 'base64');
  try {
    const reader = new SshWireReader(blob);
    const inner = reader.text();
    if (inner !== type) {
      throw new InvalidPublicKey(`the key data is of type ${inner}, not ${type} as the line says`);
    }
    const key = importKey(type, reader);
    if (!reader.atEnd) throw new InvalidPublicKey('the key data has bytes after the key');
    return { type, blob, key };
  } catch (err) {
    if (err instanceof SshWireError) throw new InvalidPublicKey(err.message);
    throw err;
  }
}

function importKey(type: string, reader: SshWireReader): KeyObject {
  if (type === 'ssh-rsa') return importRsa(reader);
  if (type === 'ssh-dss') return importDsa(reader);
  if (type === 'ssh-ed25519') {
    const x = reader.string();
    if (x.length !== 32) throw new InvalidPublicKey('an ssh-ed25519 key must be 32 bytes');
    return importJwk({ kty: 'OKP', crv: 'Ed25519', x: x.toString('base64url') }, type);
  }
  const curveName = type.startsWith('ecdsa-sha2-') ? type.slice('ecdsa-sha2-'.length) : '';
  const curve = EC_CURVES[curveName];
  if (!curve) {
    throw new InvalidPublicKey(`key type ${type} is not supported (supported: ${SSH_KEY_TYPES.join(', ')})`);
  }
  if (reader.text() !== curveName) throw new InvalidPublicKey(`the curve of the ${type} key is not ${curveName}`);
  const point = reader.string();
  const size = curve.coordinateBytes;
  if (point.length !== 1 + 2 * size || point[0] !== 0x04) {
    throw new InvalidPublicKey(`the ${type} key is not an uncompressed point of ${curveName}`);
  }
  const x = point.subarray(1, 1 + size).toString('base64url');
  const y = point.subarray(1 + size).toString('base64url');
  return importJwk({ kty: 'EC', crv: curve.jwk, x, y }, type);
}

function bigint(magnitude: Buffer): bigint {
  return magnitude.length ? BigInt(`0x${magnitude.toString('hex')}`) : 0n;
}

function importRsa(reader: SshWireReader): KeyObject {
  const e = reader.unsignedMpint();
  const n = reader.unsignedMpint();
  const [eValue, nValue] = [bigint(e), bigint(n)];
  // pyca/cryptography's checks of RSA public numbers, which Nova's validation goes through.
  if (nValue < 3n) throw new InvalidPublicKey('the ssh-rsa modulus is too small');
  if (eValue < 3n || eValue >= nValue) throw new InvalidPublicKey('the ssh-rsa exponent is out of range');
  if ((eValue & 1n) === 0n) throw new InvalidPublicKey('the ssh-rsa exponent is even');
  return importJwk({ kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') }, 'ssh-rsa');
}

function importDsa(reader: SshWireReader): KeyObject {
  const [p, q, g, y] = [reader.unsignedMpint(), reader.unsignedMpint(), reader.unsignedMpint(), reader.unsignedMpint()];
  // The sizes pyca/cryptography accepts for DSA.
  const bits = (value: Buffer) => bigint(value).toString(2).length;
  if (![1024, 2048, 3072, 4096].includes(bits(p)))
    throw new InvalidPublicKey('the ssh-dss prime p has an unsupported size');
  if (![160, 224, 256].includes(bits(q))) throw new InvalidPublicKey('the ssh-dss subprime q has an unsupported size');
  const [gValue, pValue] = [bigint(g), bigint(p)];
  if (gValue <= 1n || gValue >= pValue) throw new InvalidPublicKey('the ssh-dss generator is out of range');
  const spki = derSequence(
    derSequence(DER_OID_DSA, derSequence(derUnsignedInteger(p), derUnsignedInteger(q), derUnsignedInteger(g))),
    derBitString(derUnsignedInteger(y)),
  );
  try {
    return createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch (err) {
    throw new InvalidPublicKey(`the ssh-dss key is not valid (${(err as Error).message})`);
  }
}

function importJwk(jwk: JsonWebKey, type: string): KeyObject {
  try {
    return createPublicKey({ key: jwk, format: 'jwk' });
  } catch (err) {
    throw new InvalidPublicKey(`the ${type} key is not valid (${(err as Error).message})`);
  }
}

/** Lower-case hex digests as Nova shows them: `ab:cd:...`. */
export function colonHex(digest: Buffer): string {
  return digest.toString('hex').replace(/(..)(?!$)/g, '$1:');
}

/** Nova's ssh fingerprint: the MD5 of the key blob (what `ssh-keygen -l -E md5` shows). */
export function sshFingerprint(key: SshPublicKey): string {
  return colonHex(createHash('md5').update(key.blob).digest());
}

export interface GeneratedKeyPair {
  readonly privateKey: string;
  readonly publicKey: string;
  readonly fingerprint: string;
}

/**
 * A new RSA 2048 key pair, as Nova's generate_key_pair makes it: the private key in the PKCS#1 PEM
 * that ssh and paramiko read, the public key as an `authorized_keys` line with Nova's comment (kept
 * because tools and tests that look for generated keys match it).
 */
export async function generateSshKeyPair(bits = 2048): Promise<GeneratedKeyPair> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', { modulusLength: bits, publicExponent: 65537 });
  const jwk = publicKey.export({ format: 'jwk' });
  const blob = new SshWireWriter()
    .string('ssh-rsa')
    .unsignedMpint(Buffer.from(jwk.e!, 'base64url'))
    .unsignedMpint(Buffer.from(jwk.n!, 'base64url'))
    .toBuffer();
  const line = `ssh-rsa ${blob.toString('base64')} Generated-by-Nova`;
  return {
    privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
    publicKey: line,
    fingerprint: sshFingerprint(parseSshPublicKey(line)),
  };
}
