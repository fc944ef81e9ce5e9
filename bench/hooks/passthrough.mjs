/** Bench: a hook on every message that changes nothing (the cost of asking a script at all). */
export function onMessage() {
  return undefined;
}
