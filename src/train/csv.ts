/** CSV input through papaparse (its own module: importing the data helpers does not bring the parser). */
import Papa from 'papaparse';

/**
 * One numeric column of a CSV text (parsed by papaparse; `#` lines are
 * comments): by header name, or by 0-based index; default the last column
 * whose values are all numeric. Rows whose cell is empty are skipped; a
 * non-numeric cell is refused with its row. Throws naming the column and the
 * columns there are.
 */
export function readCsvColumn(csv: string, column?: string | number, source = 'CSV'): { name: string; values: number[] } {
  const parsed = Papa.parse<string[]>(csv, { comments: '#', skipEmptyLines: 'greedy', dynamicTyping: false });
  const rows = parsed.data.map((r) => r.map((c) => c.trim()));
  if (!rows.length) throw new Error(`${source}: no rows`);
  const isNum = (c: string | undefined) => c !== undefined && c !== '' && Number.isFinite(Number(c));
  const header = rows[0]!.some((c) => c !== '' && !isNum(c)) ? rows[0]! : null;
  const body = header ? rows.slice(1) : rows;
  const width = Math.max(...rows.map((r) => r.length));
  const names = Array.from({ length: width }, (_, i) => header?.[i] || `column ${i}`);
  let col: number;
  if (column === undefined) {
    const numeric = names.map((_, i) => body.length > 0 && body.every((r) => r[i] === undefined || r[i] === '' || isNum(r[i])) && body.some((r) => isNum(r[i])));
    col = numeric.lastIndexOf(true);
    if (col < 0) throw new Error(`${source}: no numeric column (columns: ${names.join(', ')})`);
  } else if (typeof column === 'number' || /^\d+$/.test(column)) {
    col = Number(column);
    if (col >= width) throw new Error(`${source}: column ${col} does not exist (${width} columns: ${names.map((n, i) => `${i} ${n}`).join(', ')})`);
  } else {
    col = header ? header.indexOf(column) : -1;
    if (col < 0) throw new Error(`${source}: no column named '${column}' (columns: ${names.join(', ')})`);
  }
  const values: number[] = [];
  body.forEach((r, i) => {
    const c = r[col];
    if (c === undefined || c === '') return;
    if (!isNum(c)) throw new Error(`${source}: row ${i + (header ? 2 : 1)}, column '${names[col]}': ${JSON.stringify(c.slice(0, 40))} is not a number`);
    values.push(Number(c));
  });
  return { name: names[col]!, values };
}
