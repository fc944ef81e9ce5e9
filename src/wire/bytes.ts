/** Small byte-array helpers shared by the wire modules. */

/** Joins `pieces` (`length` bytes in total) into one new array. */
export function concat(pieces: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}
