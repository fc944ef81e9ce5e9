/**
 * A tiny ANSI palette. Callers decide whether colour is on (useColor in io.ts: a TTY, no
 * NO_COLOR, no TERM=dumb); when it is off every function is the identity, so output written
 * through a disabled palette can never contain an escape code.
 */

export type Paint = (text: string) => string;

export interface Palette {
  readonly enabled: boolean;
  readonly dim: Paint;
  readonly bold: Paint;
  readonly red: Paint;
  readonly green: Paint;
  readonly yellow: Paint;
  readonly blue: Paint;
  readonly magenta: Paint;
  readonly cyan: Paint;
  readonly gray: Paint;
}

const identity: Paint = (text) => text;

/**
 * SGR open/close pair. A close code inside the text (from a nested style) would end the outer
 * style early, so it is re-opened after each one, the way chalk does it.
 */
function sgr(open: number, close: number): Paint {
  const openSeq = `\u001b[${open}m`;
  const closeSeq = `\u001b[${close}m`;
  return (text) => {
    if (text === '') return text;
    const inner = text.includes(closeSeq) ? text.split(closeSeq).join(closeSeq + openSeq) : text;
    return openSeq + inner + closeSeq;
  };
}

const ENABLED: Palette = {
  enabled: true,
  dim: sgr(2, 22),
  bold: sgr(1, 22),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
  blue: sgr(34, 39),
  magenta: sgr(35, 39),
  cyan: sgr(36, 39),
  gray: sgr(90, 39),
};

const DISABLED: Palette = {
  enabled: false,
  dim: identity,
  bold: identity,
  red: identity,
  green: identity,
  yellow: identity,
  blue: identity,
  magenta: identity,
  cyan: identity,
  gray: identity,
};

/** A palette whose functions add ANSI colours when `enabled`, and are the identity otherwise. */
export function makePalette(enabled: boolean): Palette {
  return enabled ? ENABLED : DISABLED;
}

// Matches SGR sequences (the only escapes this palette writes) and other CSI sequences.
// eslint-disable-next-line no-control-regex
const ANSI_PATTERN = /\u001b\[[0-9;?]*[ -/]*[@-~]/g;

/** The text without ANSI escape sequences. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI_PATTERN, '');
}

/** True when the text contains an ANSI escape sequence. */
export function hasAnsi(text: string): boolean {
  return text.includes('\u001b[');
}
