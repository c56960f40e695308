import { StringDecoder } from 'node:string_decoder';

/** One row of an Ultralytics `results.csv`: the epoch (1-based) and every other column as a number. */
export interface ResultsRow {
  epoch: number;
  metrics: Record<string, number>;
}

/**
 * Reads `results.csv` as it grows: `push` takes the bytes appended since the last call and returns the rows whose line
 * is complete (ends with a newline); a half-written last line waits for the rest. The first line is the header (its
 * columns differ by task); Ultralytics versions that padded it with spaces are read the same.
 */
export class ResultsCsvReader {
  private header: string[] | undefined;
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');

  push(bytes: Buffer | string): ResultsRow[] {
    const text = this.partial + (typeof bytes === 'string' ? bytes : this.decoder.write(bytes));
    const end = text.lastIndexOf('\n');
    if (end === -1) {
      this.partial = text;
      return [];
    }
    this.partial = text.slice(end + 1);
    const rows: ResultsRow[] = [];
    for (const raw of text.slice(0, end).split('\n')) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (!line.trim()) continue;
      const cells = line.split(',').map((cell) => cell.trim());
      if (!this.header) {
        this.header = cells;
        continue;
      }
      const row = this.row(cells);
      if (row) rows.push(row);
    }
    return rows;
  }

  /** The columns, once the header line is complete. */
  columns(): readonly string[] | undefined {
    return this.header;
  }

  private row(cells: string[]): ResultsRow | undefined {
    const header = this.header as string[];
    const metrics: Record<string, number> = {};
    let epoch: number | undefined;
    header.forEach((name, i) => {
      const cell = cells[i];
      if (cell === undefined || cell === '') return;
      const value = Number(cell);
      if (name === 'epoch') epoch = value;
      else if (!Number.isNaN(value) || /^nan$/i.test(cell)) metrics[name] = value;
    });
    // Ultralytics 8.1+ writes epochs from 1; a row without a whole epoch number is not one of its rows.
    if (epoch === undefined || !Number.isInteger(epoch)) return undefined;
    return { epoch, metrics };
  }
}
