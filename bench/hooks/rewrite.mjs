/**
 * Bench: parse each message as JSON, change a field, send the result (same length, so the echo
 * check holds): the same work as mitm_rewrite.py for mitmdump.
 */
export function onMessage(message) {
  if (message.type !== 'text') return undefined;
  const value = JSON.parse(message.text);
  value.type = value.type === 'tick' ? 'TICK' : 'tick';
  return JSON.stringify(value);
}
