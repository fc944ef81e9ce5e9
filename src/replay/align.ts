/**
 * The alignment under `wstape diff`: a shortest edit script between two sequences (Myers 1986,
 * "An O(ND) Difference Algorithm"), over sequences known only through an equality function, so
 * the caller can compare hashes held in typed arrays (replay/diff-frames.ts) instead of objects.
 * Steps go to a visitor as they are found; nothing is allocated per step of the common prefix and
 * suffix, and the middle's steps are kept as two Int32Arrays. Pure, no I/O.
 */
/** Above this many edits in one direction, the alignment stops and compares by position. */
export const MAX_EDITS = 2000;

export type AlignOp = { op: 'equal'; a: number; b: number } | { op: 'delete'; a: number } | { op: 'insert'; b: number };

/** One step of an edit script, given to a visitor: `a`/`b` are -1 where they do not apply. */
export type AlignVisit = (op: AlignOp['op'], a: number, b: number) => void;

/**
 * A shortest edit script turning `a` into `b` (Myers 1986, "An O(ND) Difference Algorithm"):
 * `equal` pairs form a longest common subsequence; within a run of edits, deletes come before
 * inserts. The common prefix and suffix are matched first. With more than `maxEdits` edits the
 * differing middle is returned as all deletes then all inserts.
 */
export function alignSequences<T>(a: readonly T[], b: readonly T[], maxEdits = MAX_EDITS): AlignOp[] {
  const ops: AlignOp[] = [];
  alignBy(
    a.length,
    b.length,
    (i, j) => a[i] === b[j],
    maxEdits,
    (op, x, y) => {
      if (op === 'equal') ops.push({ op, a: x, b: y });
      else if (op === 'delete') ops.push({ op, a: x });
      else ops.push({ op, b: y });
    },
  );
  return ops;
}

/**
 * alignSequences over two sequences of lengths `n` and `m` known only through `equal(i, j)`,
 * each step given to `visit` in order (nothing is allocated per equal step outside the middle).
 */
export function alignBy(n: number, m: number, equal: (i: number, j: number) => boolean, maxEdits: number, visit: AlignVisit): void {
  let head = 0;
  while (head < n && head < m && equal(head, head)) head++;
  let tailA = n;
  let tailB = m;
  while (tailA > head && tailB > head && equal(tailA - 1, tailB - 1)) {
    tailA--;
    tailB--;
  }
  for (let i = 0; i < head; i++) visit('equal', i, i);
  if (!myers(head, tailA, head, tailB, equal, maxEdits, visit)) {
    for (let i = head; i < tailA; i++) visit('delete', i, -1);
    for (let j = head; j < tailB; j++) visit('insert', -1, j);
  }
  for (let i = tailA, j = tailB; i < n; i++, j++) visit('equal', i, j);
}

/** Growable pairs of numbers: the middle's edit script, walked back. */
class Steps {
  a: Int32Array = new Int32Array(256);
  b: Int32Array = new Int32Array(256);
  length = 0;

  push(a: number, b: number): void {
    if (this.length === this.a.length) {
      const grow = (old: Int32Array): Int32Array => {
        const next = new Int32Array(old.length * 2);
        next.set(old);
        return next;
      };
      this.a = grow(this.a);
      this.b = grow(this.b);
    }
    this.a[this.length] = a;
    this.b[this.length] = b;
    this.length++;
  }
}

/** The middle [a0, a1) × [b0, b1) by Myers' algorithm, to `visit`; false above maxEdits. */
function myers(a0: number, a1: number, b0: number, b1: number, equal: (i: number, j: number) => boolean, maxEdits: number, visit: AlignVisit): boolean {
  const n = a1 - a0;
  const m = b1 - b0;
  const max = n + m;
  if (max === 0) return true;
  // v[offset + k]: the furthest x reached on diagonal k (y = x - k). trace[d] keeps the
  // diagonals -d..d as they were before step d, for the walk back.
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = -1;
  for (let d = 0; d <= Math.min(max, maxEdits); d++) {
    trace.push(v.slice(offset - d, offset + d + 1));
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && (v[offset + k - 1] as number) < (v[offset + k + 1] as number))
          ? (v[offset + k + 1] as number)
          : (v[offset + k - 1] as number) + 1;
      let y = x - k;
      while (x < n && y < m && equal(a0 + x, b0 + y)) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
    if (found !== -1) break;
  }
  if (found === -1) return false;

  // Walked back from the end: (a, b) for equal, (a, -1) for delete, (-1, b) for insert.
  const reversed = new Steps();
  let x = n;
  let y = m;
  for (let d = found; d >= 0; d--) {
    const saved = trace[d] as Int32Array;
    const at = (k: number): number => saved[k + d] as number;
    const k = x - y;
    let prevK: number;
    if (d === 0) prevK = 0;
    else prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      reversed.push(a0 + x, b0 + y);
    }
    if (d > 0) {
      if (x === prevX) reversed.push(-1, b0 + prevY);
      else reversed.push(a0 + prevX, -1);
      x = prevX;
      y = prevY;
    }
  }
  // Myers may interleave a run's deletes and inserts; put deletes first in each run.
  let runEnd = reversed.length;
  const flush = (from: number, to: number): void => {
    // Steps from..to-1 of the forward order are edits: deletes, then inserts.
    for (let i = to - 1; i >= from; i--) if ((reversed.b[i] as number) === -1) visit('delete', reversed.a[i] as number, -1);
    for (let i = to - 1; i >= from; i--) if ((reversed.a[i] as number) === -1) visit('insert', -1, reversed.b[i] as number);
  };
  for (let i = reversed.length - 1; i >= 0; i--) {
    const ea = reversed.a[i] as number;
    const eb = reversed.b[i] as number;
    if (ea !== -1 && eb !== -1) {
      flush(i + 1, runEnd);
      visit('equal', ea, eb);
      runEnd = i;
    }
  }
  flush(0, runEnd);
  return true;
}
