/**
 * ECDSA over a caller-supplied digest (FIPS 186-4 §6.4), which KMS offers as MessageType DIGEST
 * and node:crypto does not (it always hashes its input). Signing borrows OpenSSL's fixed-base
 * multiplication through createECDH (k·G), so only the scalar arithmetic is done in BigInt;
 * verification needs u1·G + u2·Q and is done entirely in BigInt (Jacobian coordinates).
 * Not constant-time: this is the emulator's stand-in for an HSM, never a production signer.
 */
import { createECDH, randomBytes, type ECDH } from 'node:crypto';

interface Curve {
  name: 'prime256v1' | 'secp384r1';
  bytes: number;
  p: bigint;
  n: bigint;
  b: bigint;
  gx: bigint;
  gy: bigint;
}

// SEC 2 v2 §2.4.2 and §2.5.1 (a = -3 for both).
export const CURVES: Record<'P-256' | 'P-384', Curve> = {
  'P-256': {
    name: 'prime256v1',
    bytes: 32,
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
    gx: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
    gy: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
  },
  'P-384': {
    name: 'secp384r1',
    bytes: 48,
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
    gx: 0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
    gy: 0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
  },
};

const toBig = (b: Uint8Array): bigint => (b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`));
const toBytes = (v: bigint, len: number): Buffer => Buffer.from(v.toString(16).padStart(len * 2, '0'), 'hex');
const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;

function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [mod(a, m), m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}

/** FIPS 186-4 §6.4: the leftmost min(N, outlen) bits of the digest, as an integer. */
function digestToInt(digest: Uint8Array, curve: Curve): bigint {
  const nBits = curve.n.toString(2).length;
  let e = toBig(digest);
  const excess = digest.length * 8 - nBits;
  if (excess > 0) e >>= BigInt(excess);
  return e;
}

/** DER Ecdsa-Sig-Value (RFC 3279 §2.2.3), as KMS returns it. */
function derSignature(r: bigint, s: bigint): Buffer {
  const int = (v: bigint): Buffer => {
    let hex = v.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    let b = Buffer.from(hex, 'hex');
    if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
    return Buffer.concat([Buffer.from([0x02, b.length]), b]);
  };
  const body = Buffer.concat([int(r), int(s)]);
  const len = body.length < 0x80 ? Buffer.from([body.length]) : Buffer.from([0x81, body.length]);
  return Buffer.concat([Buffer.from([0x30]), len, body]);
}

function parseDerSignature(sig: Uint8Array): { r: bigint; s: bigint } | null {
  const b = Buffer.from(sig);
  if (b[0] !== 0x30 || b.length < 8) return null;
  let at = 2;
  let total = b[1]!;
  if (total === 0x81) {
    total = b[2]!;
    at = 3;
  } else if (total & 0x80) return null;
  if (at + total !== b.length) return null;
  const ints: bigint[] = [];
  for (let i = 0; i < 2; i++) {
    if (b[at] !== 0x02) return null;
    const len = b[at + 1]!;
    if (len & 0x80 || at + 2 + len > b.length) return null;
    ints.push(toBig(b.subarray(at + 2, at + 2 + len)));
    at += 2 + len;
  }
  if (at !== b.length) return null;
  return { r: ints[0]!, s: ints[1]! };
}

const ecdhByCurve = new Map<string, ECDH>();

export function signDigestEcdsa(curveId: 'P-256' | 'P-384', d: bigint, digest: Uint8Array): Buffer {
  const c = CURVES[curveId];
  const e = digestToInt(digest, c);
  // Reused per curve: setPrivateKey + getPublicKey run synchronously, so no call sees another's k.
  let ecdh = ecdhByCurve.get(c.name);
  if (!ecdh) ecdhByCurve.set(c.name, (ecdh = createECDH(c.name)));
  for (;;) {
    const k = mod(toBig(randomBytes(c.bytes + 8)), c.n - 1n) + 1n;
    ecdh.setPrivateKey(toBytes(k, c.bytes));
    const point = ecdh.getPublicKey(); // 04 || x || y, computed by OpenSSL
    const r = mod(toBig(point.subarray(1, 1 + c.bytes)), c.n);
    if (r === 0n) continue;
    const s = mod(inverse(k, c.n) * (e + r * d), c.n);
    if (s === 0n) continue;
    return derSignature(r, s);
  }
}

type Jac = [bigint, bigint, bigint]; // Z = 0 is the point at infinity

function double(P: Jac, p: bigint): Jac {
  const [X, Y, Z] = P;
  if (Z === 0n || Y === 0n) return [1n, 1n, 0n];
  // dbl-2001-b (a = -3), from the Explicit-Formulas Database.
  const delta = (Z * Z) % p;
  const gamma = (Y * Y) % p;
  const beta = (X * gamma) % p;
  const alpha = mod(3n * (X - delta) * (X + delta), p);
  const X3 = mod(alpha * alpha - 8n * beta, p);
  const Z3 = mod((Y + Z) * (Y + Z) - gamma - delta, p);
  const Y3 = mod(alpha * (4n * beta - X3) - 8n * gamma * gamma, p);
  return [X3, Y3, Z3];
}

function add(P: Jac, Q: Jac, p: bigint): Jac {
  if (P[2] === 0n) return Q;
  if (Q[2] === 0n) return P;
  const [X1, Y1, Z1] = P;
  const [X2, Y2, Z2] = Q;
  // add-2007-bl
  const Z1Z1 = (Z1 * Z1) % p;
  const Z2Z2 = (Z2 * Z2) % p;
  const U1 = (X1 * Z2Z2) % p;
  const U2 = (X2 * Z1Z1) % p;
  const S1 = (((Y1 * Z2) % p) * Z2Z2) % p;
  const S2 = (((Y2 * Z1) % p) * Z1Z1) % p;
  const H = mod(U2 - U1, p);
  const rr = mod(2n * (S2 - S1), p);
  if (H === 0n) return rr === 0n ? double(P, p) : [1n, 1n, 0n];
  const I = (4n * H * H) % p;
  const J = (H * I) % p;
  const V = (U1 * I) % p;
  const X3 = mod(rr * rr - J - 2n * V, p);
  const Y3 = mod(rr * (V - X3) - 2n * S1 * J, p);
  const Z3 = mod(((Z1 + Z2) * (Z1 + Z2) - Z1Z1 - Z2Z2) * H, p);
  return [X3, Y3, Z3];
}

/** u1·G + u2·Q by Shamir's trick; returns affine x, or null for infinity. */
function twoScalarX(u1: bigint, u2: bigint, Q: Jac, c: Curve): bigint | null {
  const G: Jac = [c.gx, c.gy, 1n];
  const GQ = add(G, Q, c.p);
  let R: Jac = [1n, 1n, 0n];
  const bits = Math.max(u1.toString(2).length, u2.toString(2).length);
  for (let i = bits - 1; i >= 0; i--) {
    R = double(R, c.p);
    const b1 = (u1 >> BigInt(i)) & 1n;
    const b2 = (u2 >> BigInt(i)) & 1n;
    if (b1 && b2) R = add(R, GQ, c.p);
    else if (b1) R = add(R, G, c.p);
    else if (b2) R = add(R, Q, c.p);
  }
  if (R[2] === 0n) return null;
  const zi = inverse(R[2], c.p);
  return (R[0] * zi * zi) % c.p;
}

export function verifyDigestEcdsa(
  curveId: 'P-256' | 'P-384',
  qx: bigint,
  qy: bigint,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  const c = CURVES[curveId];
  const rs = parseDerSignature(signature);
  if (!rs) return false;
  const { r, s } = rs;
  if (r <= 0n || r >= c.n || s <= 0n || s >= c.n) return false;
  const w = inverse(s, c.n);
  const e = digestToInt(digest, c);
  const x = twoScalarX(mod(e * w, c.n), mod(r * w, c.n), [qx, qy, 1n], c);
  return x !== null && mod(x, c.n) === r;
}

export const bigFromBase64url = (s: string): bigint => toBig(Buffer.from(s, 'base64url'));
