import { describe, expect, it } from 'vitest';
import { MetricLineScanner, parseMetricLine } from '../../../src/progress/metrics/line.js';

describe('metric lines', () => {
  it("reads Hugging Face's printed log dict (a Python repr), without evaluating it", () => {
    expect(parseMetricLine("{'loss': 0.12, 'grad_norm': 1.0, 'learning_rate': 5e-05, 'epoch': 1.0}")).toEqual({
      form: 'dict',
      samples: [
        { name: 'loss', value: 0.12, epoch: 1 },
        { name: 'grad_norm', value: 1, epoch: 1 },
        { name: 'learning_rate', value: 5e-5, epoch: 1 },
      ],
    });
    // nan/inf as repr() prints them, numbers printed as strings, total_flos left out.
    expect(parseMetricLine("{'grad_norm': nan, 'loss': '0.5', 'x': -inf, 'total_flos': 1e15, 'epoch': 0.25}")).toEqual({
      form: 'dict',
      samples: [
        { name: 'grad_norm', value: NaN, epoch: 0.25 },
        { name: 'loss', value: 0.5, epoch: 0.25 },
        { name: 'x', value: -Infinity, epoch: 0.25 },
      ],
    });
  });

  it('reads the JSON form, with step and epoch beside the metrics', () => {
    expect(parseMetricLine('{"metrics": {"loss": 0.5, "val/acc": 0.9}, "step": 100, "epoch": 2, "ok": true}')).toEqual({
      form: 'json',
      samples: [
        { name: 'loss', value: 0.5, step: 100, epoch: 2 },
        { name: 'val/acc', value: 0.9, step: 100, epoch: 2 },
      ],
    });
  });

  it('takes no dict that does not say where it is (a printed config), nor code', () => {
    expect(parseMetricLine("{'lr': 0.1, 'batch_size': 32}")).toBeUndefined();
    expect(parseMetricLine("{'loss': __import__('os').system('touch /tmp/x'), 'epoch': 1}")).toBeUndefined();
    expect(parseMetricLine("{'epoch': 1}")).toBeUndefined();
    expect(parseMetricLine('not a dict {"loss": 1, "epoch": 1}')).toBeUndefined();
  });

  it('finds metric lines across chunks, between tqdm redraws, and only at the start of a line', () => {
    const got: string[] = [];
    const scanner = new MetricLineScanner((p) => got.push(p.samples.map((s) => `${s.name}=${s.value}`).join(',')));
    scanner.push("step 1 {'loss': 9, 'epoch': 1}\n{'loss': 1.5, 'ep");
    scanner.push("och': 1}\n 10%|#  | 1/10\r                \r{'loss': 1.25, 'epoch': 1.5}\n");
    scanner.push('{"metrics": {"acc": 0.5}}');
    scanner.push('\r\n');
    expect(got).toEqual(['loss=1.5', 'loss=1.25', 'acc=0.5']);
  });
});
