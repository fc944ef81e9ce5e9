/**
 * Typed protobuf decoding with a .proto file (`--proto FILE --message TYPE`). protobufjs is
 * imported here, lazily, so that only a command that asks for a typed decode pays for loading it.
 */

import { stat } from 'node:fs/promises';
import { cliError, isCliError } from '../errors.js';

/**
 * Loads `file` (and the files it imports) and returns a decoder for `messageType`, a fully
 * qualified name such as "chat.Message" (a leading dot is allowed).
 *
 * The decoder returns the message as protobufjs's `toObject` with JSON-safe options: 64-bit
 * integers as decimal strings, enums by name, bytes as base64, NaN/Infinity as strings, fields
 * absent from the payload left out. It throws a CliError `ERR_USAGE` when the bytes are not a
 * valid `messageType` (callers that decode many frames catch it per frame).
 *
 * @throws CliError `ERR_FILE` when the file cannot be read or does not parse as a .proto file,
 *   `ERR_USAGE` when it defines no message type `messageType`.
 */
export async function loadProtoDecoder(file: string, messageType: string): Promise<(bytes: Uint8Array) => unknown> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw cliError('ERR_FILE', `${file} is not a file`);
  } catch (error) {
    if (isCliError(error)) throw error;
    throw cliError('ERR_FILE', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const protobufjs = (await import('protobufjs')).default;
  let root: InstanceType<typeof protobufjs.Root>;
  try {
    root = await new protobufjs.Root().load(file, { keepCase: true });
  } catch (error) {
    throw cliError('ERR_FILE', `cannot load ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const name = messageType.startsWith('.') ? messageType.slice(1) : messageType;
  const found = name === '' ? null : root.lookup(name);
  // lookup() also finds "Message" inside package chat; only the fully qualified name is taken,
  // so that the same command line cannot pick another type when the .proto file grows.
  if (!(found instanceof protobufjs.Type) || found.fullName !== `.${name}`) {
    const known = listTypes(root, protobufjs.Type);
    throw cliError(
      'ERR_USAGE',
      `${file} defines no message type ${messageType}` +
        (known.length > 0 ? ` (it defines: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''})` : ''),
    );
  }
  const type = found;
  return (bytes: Uint8Array): unknown => {
    let message;
    try {
      message = type.decode(bytes);
    } catch (error) {
      throw cliError('ERR_USAGE', `payload is not a valid ${type.fullName.slice(1)}: ${error instanceof Error ? error.message : String(error)}`);
    }
    return type.toObject(message, { longs: String, enums: String, bytes: String, json: true });
  };
}

/** Fully qualified names of the message types under `root`, for the error message. */
function listTypes(root: { nestedArray: unknown[] }, Type: new (...args: never[]) => unknown): string[] {
  const names: string[] = [];
  const visit = (node: unknown): void => {
    if (node instanceof Type) names.push((node as { fullName: string }).fullName.slice(1));
    const nested = (node as { nestedArray?: unknown[] }).nestedArray;
    if (nested !== undefined) for (const child of nested) visit(child);
  };
  visit(root);
  return names;
}
