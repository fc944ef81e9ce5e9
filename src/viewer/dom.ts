/**
 * Building DOM nodes. Everything from the archive is hostile (a payload may be
 * `</script><script>...` or `<img onerror=...>`), so this module sets text with textContent and
 * attributes with setAttribute, and offers no way to set innerHTML: nothing here parses markup.
 */

type Child = Node | string | null | undefined | false;

/** An element with attributes (`class`, `data-*`, `title`...) and children (strings become text nodes). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) node.setAttribute(name, value);
  append(node, ...children);
  return node;
}

/** Append children: strings as text nodes; null, undefined and false are skipped. */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

/** Remove every child. */
export function clear(node: Node): void {
  while (node.firstChild !== null) node.removeChild(node.firstChild);
}

/** The element with this id, typed; throws when the page lacks it (a bug in the viewer). */
export function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`#${id} is missing`);
  return node as T;
}
