// The per-chunk cost of the rank-0 progress scanner next to the existing line splitter (bench 5's hot path).
// Run after `npm run build`: node bench/progress-scan.mjs
import { ProgressScanner } from '../dist/progress/scanner.js';
import { LineSplitter } from '../dist/launch/run/logs.js';
// Chunks as a pipe delivers bench 5's printer output: 64 KiB of `rank 0 line i the quick brown fox…` lines.
let text = '';
for (let i = 0; text.length < 65536; i++) text += `rank 0 line ${i} the quick brown fox jumps over the lazy dog\n`;
const chunk = text.slice(0, 65536);
const N = 4000; // 4000 × 64 KiB ≈ 250 MiB, ≈ 3.8 M lines
function time(label, fn) {
  const best = [];
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint();
    fn();
    best.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  best.sort((a, b) => a - b);
  console.log(
    `${label}: median ${best[2].toFixed(1)} ms for ${N} chunks (${((best[2] * 1000) / N).toFixed(2)} µs/chunk)`,
  );
  return best[2];
}
const split = time('LineSplitter.pushPrefixed (existing hot path)', () => {
  const s = new LineSplitter(() => {});
  for (let i = 0; i < N; i++) s.pushPrefixed(chunk, '[rank0]:');
});
const scan = time('ProgressScanner.push (added, rank 0 only)', () => {
  const s = new ProgressScanner({ onProgress: () => {} });
  for (let i = 0; i < N; i++) s.push(chunk);
});
const scanT = time('ProgressScanner.push, trainer mode before the folder is known', () => {
  const s = new ProgressScanner({ onProgress: () => {}, onRunFolder: () => {} });
  for (let i = 0; i < N; i++) s.push(chunk);
});
let pct = '';
for (let i = 0; pct.length < 65536; i++)
  pct += `\r\x1b[K        1/3         0G     0.1261     0.3723    0.07401         15         64:  25% ━━━───────── ${i}/40000 1.8it/s 0.4s`;
time('ProgressScanner.push, chunks full of Ultralytics bar updates', () => {
  const s = new ProgressScanner({ onProgress: () => {} });
  for (let i = 0; i < N; i++) s.push(pct.slice(0, 65536));
});
console.log(
  `added cost on rank 0's stream: ${((scan / split) * 100).toFixed(1)}% of the existing splitter's (trainer mode: ${((scanT / split) * 100).toFixed(1)}%)`,
);
