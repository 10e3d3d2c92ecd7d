// The values the interop suites send and compare: binary data in the forms the clients give it, the
// comparable form of event arguments, byte patterns.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";

export function isBinary(v) {
  return Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

/** Normalises whatever a client gives for binary data (Buffer, ArrayBuffer, view) to a Buffer. */
export function toBytes(d) {
  if (Buffer.isBuffer(d)) return d;
  if (d instanceof ArrayBuffer) return Buffer.from(d);
  if (ArrayBuffer.isView(d)) return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  throw new Error(`not binary data: ${typeof d} ${Object.prototype.toString.call(d)}`);
}

/**
 * Comparable form of event arguments: binary becomes { $binary: <length>, bytes } (a hash of the
 * bytes for long ones), functions (ack callbacks) become "$function". A {type:"Buffer", data:[...]}
 * object received instead of binary stays an object, so it does not compare equal to binary.
 */
export function normalize(v) {
  if (isBinary(v)) {
    const b = toBytes(v);
    return { $binary: b.length, bytes: b.length <= 64 ? b.toString("hex") : createHash("sha1").update(b).digest("hex") };
  }
  if (typeof v === "function") return "$function";
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]));
  return v;
}

export function assertSameArgs(received, expected, what) {
  assert.deepEqual(normalize(received), normalize(expected), what);
}

/** The 256 byte values, in order. */
export const allBytes = () => Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** n bytes of a pattern that depends on seed. */
export function patternBytes(n, seed = 0) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}
