/**
 * What the package exports to programs: the types of the hook contract, so that a `--script`
 * gets completion and checking (`/** @type {import('wstape').Hooks} *\/`, or a .ts file the user
 * compiles). wstape is a CLI; this is its only library surface, and it holds types only.
 */
export type {
  Actor,
  ConnectionInfo,
  ConnectionVerdict,
  ControlFrame,
  ControlVerdict,
  Direction,
  HeaderPairs,
  Hooks,
  HttpRequest,
  HttpResponse,
  Message,
  MessageContext,
  MessageVerdict,
  RequestVerdict,
  ResponseVerdict,
} from './intervene/hooks.js';
