import { StringDecoder } from 'node:string_decoder';
import { MAX_METRIC_NAME, type MetricSample } from './line.js';

/** The cells of one CSV line (RFC 4180 quotes: `"a,b"`, `""` for a quote). */
export function csvCells(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted && ch === '"' && line[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  cells.push(cell);
  return cells;
}

/**
 * Reads Lightning's `metrics.csv` (CSVLogger) as it grows: a header, then one row per logging call, with blank cells
 * for the metrics that call did not log (`epoch,step,train_loss,val_loss` / `0,49,0.61,` / `0,99,,0.58`). `push`
 * takes the bytes appended since the last call and returns the samples of the rows now complete.
 */
export class MetricsCsvReader {
  private header: string[] | undefined;
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');
  /** Rows read so far (a file rewritten with a wider header is read again from its first row past these). */
  rows = 0;

  constructor(private readonly skipRows = 0) {}

  /** The header line as read, to tell a rewrite (new columns) from an append. */
  headerLine: string | undefined;

  push(bytes: Buffer): MetricSample[][] {
    const text = this.partial + this.decoder.write(bytes);
    const end = text.lastIndexOf('\n');
    if (end === -1) {
      this.partial = text;
      return [];
    }
    this.partial = text.slice(end + 1);
    const out: MetricSample[][] = [];
    for (const raw of text.slice(0, end).split('\n')) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (!line.trim()) continue;
      if (!this.header) {
        this.headerLine = line;
        this.header = csvCells(line).map((c) => c.trim());
        continue;
      }
      if (this.rows++ < this.skipRows) continue;
      const samples = this.row(csvCells(line));
      if (samples.length) out.push(samples);
    }
    return out;
  }

  private row(cells: string[]): MetricSample[] {
    const header = this.header!;
    const value = (name: string): number | undefined => {
      const cell = cells[header.indexOf(name)]?.trim();
      return cell === undefined || cell === '' || Number.isNaN(Number(cell)) ? undefined : Number(cell);
    };
    const step = value('step');
    const epoch = value('epoch');
    const samples: MetricSample[] = [];
    header.forEach((name, i) => {
      if (name === 'step' || name === 'epoch' || name === '' || name.length > MAX_METRIC_NAME) return;
      const cell = cells[i]?.trim();
      if (cell === undefined || cell === '') return;
      const v = Number(cell);
      if (Number.isNaN(v) && !/^nan$/i.test(cell)) return;
      samples.push({ name, value: v, ...(step !== undefined && { step }), ...(epoch !== undefined && { epoch }) });
    });
    return samples;
  }
}
