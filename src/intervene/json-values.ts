/**
 * Reading and writing the values a JSONPath names in a parsed JSON document, for the --drop,
 * --set and friends conditions (flags.ts). The expressions are those of src/replay/jsonpath.ts;
 * this file adds what replay never needed: the values at a path, equality of JSON values, and
 * setting one member or element by a concrete path.
 */
import { pathMatches, type CompiledPath, type PathSegment } from '../replay/jsonpath.js';

/** A path with no `*` and no `..`: it names at most one value. Its segments, or null if it is not. */
export function concreteSegments(compiled: CompiledPath): PathSegment[] | null {
  const segments: PathSegment[] = [];
  for (const step of compiled.steps) {
    if (step.descend) return null;
    const { selector } = step;
    if (selector.kind === 'any') return null;
    segments.push(selector.kind === 'name' ? selector.name : selector.index);
  }
  return segments;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The child of a container at one segment; `found: false` when there is none. */
function child(container: unknown, segment: PathSegment): { found: boolean; value?: unknown } {
  if (typeof segment === 'number') {
    return Array.isArray(container) && segment < container.length ? { found: true, value: container[segment] as unknown } : { found: false };
  }
  return isObject(container) && Object.hasOwn(container, segment) ? { found: true, value: container[segment] } : { found: false };
}

/** The value at a concrete path; `found: false` when there is none. */
export function getAt(document: unknown, segments: readonly PathSegment[]): { found: boolean; value?: unknown } {
  let value = document;
  for (const segment of segments) {
    const next = child(value, segment);
    if (!next.found) return { found: false };
    value = next.value;
  }
  return { found: true, value };
}

/** Every value in `document` whose path the expression matches, in document order. */
export function valuesAt(document: unknown, compiled: CompiledPath): unknown[] {
  const segments = concreteSegments(compiled);
  if (segments) {
    // The common case, `$.type`: walk straight down instead of visiting every value.
    const at = getAt(document, segments);
    return at.found ? [at.value] : [];
  }
  const found: unknown[] = [];
  const path: PathSegment[] = [];
  const visit = (value: unknown): void => {
    if (pathMatches(path, compiled)) found.push(value);
    if (Array.isArray(value)) {
      value.forEach((item: unknown, index) => {
        path.push(index);
        visit(item);
        path.pop();
      });
    } else if (isObject(value)) {
      for (const [key, item] of Object.entries(value)) {
        path.push(key);
        visit(item);
        path.pop();
      }
    }
  };
  visit(document);
  return found;
}

/** Structural equality of two JSON values (object member order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && jsonEqual(a[key], b[key]));
  }
  return false;
}

/**
 * Set the value at a concrete path (at least one segment) in place. The parent must exist and be
 * of the right kind (an object for a name, an array for an index); a missing member is added, an
 * index may be at most the array's length (which appends). Returns false, changing nothing, when
 * the path does not fit the document.
 */
export function setAt(document: unknown, segments: readonly PathSegment[], value: unknown): boolean {
  const last = segments[segments.length - 1];
  if (last === undefined) return false;
  let parent = document;
  for (const segment of segments.slice(0, -1)) {
    const next = child(parent, segment);
    if (!next.found) return false;
    parent = next.value;
  }
  if (typeof last === 'number') {
    if (!Array.isArray(parent) || last > parent.length) return false;
    parent[last] = value;
    return true;
  }
  if (!isObject(parent)) return false;
  // defineProperty, not assignment: a member named "__proto__" is data, as JSON.parse makes it.
  Object.defineProperty(parent, last, { value, writable: true, enumerable: true, configurable: true });
  return true;
}
