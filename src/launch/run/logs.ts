export { LineSplitter, PROGRESS_INTERVAL_MS, type LineSink } from './line-splitter.js';

/** Keeps the last `maxLines` lines of a stream (the stderr tail for a root cause). */
export class Tail {
  private readonly lines: string[] = [];
  constructor(private readonly maxLines: number) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.maxLines) this.lines.shift();
  }
  text(): string {
    return this.lines.join('\n');
  }
}
