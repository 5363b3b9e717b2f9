/** Plain-text tables for the terminal: columns padded, numeric columns right-aligned. */

export type Cell = string | number;

const looksNumeric = (c: string): boolean => /^-?\d/.test(c);

/**
 * `align` overrides the guess per column (by default a column is right-aligned when every cell
 * in it looks like a number, the first column never).
 */
export function table(header: readonly string[], rows: ReadonlyArray<readonly Cell[]>, indent = '  ', align?: ReadonlyArray<'left' | 'right' | undefined>): string {
  const text = rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toLocaleString('en-US') : c)));
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const right = header.map((_, i) => (align?.[i] !== undefined ? align[i] === 'right' : i > 0 && text.length > 0 && text.every((r) => looksNumeric(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    indent +
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(header), ...text.map(line)].join('\n');
}
