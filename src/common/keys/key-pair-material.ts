/**
 * What a key pair holds, by type: the fingerprint of an imported public key (checking it is one) and a
 * new key pair when the server generates it. Refusals are Nova's InvalidKeypair, a 400 whose message
 * says what is wrong with the key.
 */
import { BadRequest } from '../errors.ts';
import {
  generateSshKeyPair,
  InvalidPublicKey,
  parseSshPublicKey,
  sshFingerprint,
  type GeneratedKeyPair,
} from './ssh-keys.ts';
import { generateX509KeyPair, parseX509Certificate, x509Fingerprint } from './x509-keys.ts';

export const KEY_PAIR_TYPES = ['ssh', 'x509'] as const;
export type KeyPairType = (typeof KEY_PAIR_TYPES)[number];

export type { GeneratedKeyPair };

function invalid(what: string, err: unknown): never {
  if (err instanceof InvalidPublicKey)
    throw new BadRequest(`Keypair data is invalid: failed to generate ${what}: ${err.message}`);
  throw err;
}

/** The fingerprint of `publicKey` (an authorized_keys line, or a PEM certificate for x509). */
export function keyFingerprint(type: KeyPairType, publicKey: string): string {
  if (type === 'x509') {
    try {
      return x509Fingerprint(parseX509Certificate(publicKey));
    } catch (err) {
      invalid('X509 fingerprint', err);
    }
  }
  try {
    return sshFingerprint(parseSshPublicKey(publicKey));
  } catch (err) {
    invalid('fingerprint', err);
  }
}

export async function generateKeyPairMaterial(type: KeyPairType, userId: string): Promise<GeneratedKeyPair> {
  if (type === 'ssh') return generateSshKeyPair();
  try {
    return await generateX509KeyPair(userId);
  } catch (err) {
    if (err instanceof InvalidPublicKey) throw new BadRequest(`Keypair data is invalid: ${err.message}`);
    throw err;
  }
}
