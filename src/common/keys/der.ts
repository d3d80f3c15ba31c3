/**
 * Just enough DER (X.690) to wrap a DSA public key in a SubjectPublicKeyInfo, the only form in which
 * node:crypto imports one (it takes RSA, EC and Ed25519 keys as JWK, but has no JWK for DSA).
 */

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.of(tag), length(content.length), content]);
}

export function derSequence(...items: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(items));
}

/** A non-negative INTEGER from its unsigned big-endian magnitude. */
export function derUnsignedInteger(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  let content = magnitude.length ? magnitude.subarray(start) : Buffer.of(0);
  if ((content[0]! & 0x80) !== 0) content = Buffer.concat([Buffer.of(0), content]);
  return tlv(0x02, content);
}

export function derBitString(content: Buffer): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.of(0), content]));
}

/** OBJECT IDENTIFIER 1.2.840.10040.4.1 (id-dsa), already encoded. */
export const DER_OID_DSA = Buffer.from('06072a8648ce380401', 'hex');
