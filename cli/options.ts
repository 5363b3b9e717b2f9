/** Parses CLI option values with the scenario's own unit parsers, so flags and files agree. */
import { isParseFailure, parseDuration } from '../scenarios/units.ts';

/** A usage error: one line for the user, exit code 2. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

export function durationOption(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (isParseFailure(ms)) throw new CliError(`${flag}: expected a duration such as "10s" or "500ms", found ${JSON.stringify(text)}`);
  if (ms <= 0) throw new CliError(`${flag}: expected a positive duration, found ${JSON.stringify(text)}`);
  return ms;
}

export function seedOption(text: string): number {
  if (!/^-?\d+$/.test(text)) throw new CliError(`--seed: expected an integer, found ${JSON.stringify(text)}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new CliError(`--seed: expected an integer within ±2^53, found ${JSON.stringify(text)}`);
  return n;
}
