import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBar } from 'ddprun';
import { FIXTURES } from '../helpers/python.js';

const LOG = readFileSync(path.join(FIXTURES, 'ultralytics-8.3.186-run', 'rank0-stdout.txt'), 'utf8');

describe('parseBar', () => {
  it('reads every bar state of a real Ultralytics 8.3.186 run, and nothing else', () => {
    const bars = LOG.split(/[\r\n]/)
      .map((segment) => parseBar(segment))
      .filter((u) => u !== undefined)
      .map((u) => [u.desc.split(/\s+/)[0], u.n, u.total, u.rate ?? null, u.elapsed, u.remaining]);
    // prettier-ignore
    expect(bars).toEqual([
      ['train:', 16, 16, 5162220.3, 0, 0], ['train:', 16, 16, 159025.7, 0, 0],
      ['val:', 8, 8, 2796202.7, 0, 0], ['val:', 8, 8, 10189.6, 0, 0],
      ['1/3', 0, 4, null, 0.3, undefined], ['1/3', 1, 4, 1.8, 0.4, 1.2], ['1/3', 2, 4, 3.5, 0.6, 0.6],
      ['1/3', 3, 4, 4.6, 0.7, 0.233], ['1/3', 4, 4, 5.7, 0.7, 0], ['1/3', 4, 4, 5.7, 0.7, 0],
      ['Class', 1, 1, 1.5, 0.7, 0], ['Class', 1, 1, 1.5, 0.7, 0],
      ['2/3', 1, 4, 2.5, 0.1, 0.3], ['2/3', 3, 4, 6.5, 0.2, 0.067], ['2/3', 4, 4, 16.2, 0.2, 0], ['2/3', 4, 4, 16.2, 0.2, 0],
      ['Class', 1, 1, 26.2, 0, 0], ['Class', 1, 1, 26.1, 0, 0],
      ['3/3', 1, 4, 1.8, 0.2, 0.6], ['3/3', 3, 4, 3.7, 0.4, 0.133], ['3/3', 4, 4, 9.8, 0.4, 0], ['3/3', 4, 4, 9.8, 0.4, 0],
      ['Class', 1, 1, 18.9, 0.1, 0], ['Class', 1, 1, 18.9, 0.1, 0],
      ['Class', 1, 1, 5.5, 0.2, 0], ['Class', 1, 1, 5.5, 0.2, 0],
    ]);
  });

  it('keeps the description of an Ultralytics training bar without its colours and padding', () => {
    const segment = LOG.split('\r').find((s) => s.includes(' 1/4 1.8it/s')) as string;
    expect(parseBar(segment)).toEqual({
      format: 'ultralytics',
      desc: '1/3         0G     0.1261     0.3723    0.07401         15         64',
      n: 1,
      total: 4,
      unit: 'it',
      rate: 1.8,
      elapsed: 0.4,
      remaining: 1.2,
    });
    // A colour code in the description (`train: ` is blue and bold) is not part of it.
    expect(parseBar(LOG.split('\r').find((s) => s.includes('train.cache')) as string)?.desc).toBe(
      'train: Scanning /home/user/yolo/dataset/labels/train.cache... 16 images, 0 backgrounds, 0 corrupt',
    );
  });

  it("reads a newer Ultralytics bar's remaining time and minutes", () => {
    expect(parseBar('Epoch 2:  50% ━━━━━━────── 50/100 4.2it/s 1:05<0:12')).toMatchObject({
      n: 50,
      total: 100,
      rate: 4.2,
      elapsed: 65,
      remaining: 12,
    });
    expect(parseBar('download: 40% ━━━━╸─────── 2.0/5.0MB 1.2MB/s 1.7s<2.5s')).toMatchObject({
      n: 2e6,
      total: 5e6,
      unit: 'B',
      rate: 1.2e6,
    });
  });

  it("reads tqdm's default format: description, n/total, elapsed<remaining, rate and postfix", () => {
    expect(parseBar(' 45%|████▌     | 45/100 [00:10<00:12,  4.50it/s]')).toEqual({
      format: 'tqdm',
      desc: '',
      n: 45,
      total: 100,
      unit: 'it',
      rate: 4.5,
      elapsed: 10,
      remaining: 12,
    });
    expect(parseBar('Epoch 3: 100%|██████████| 10/10 [1:00:01<00:00,  9.10it/s, loss=0.3]')).toMatchObject({
      desc: 'Epoch 3',
      n: 10,
      elapsed: 3601,
      remaining: 0,
    });
    expect(parseBar('  0%|          | 0/100 [00:00<?, ?it/s]')).toMatchObject({ n: 0, total: 100, elapsed: 0 });
    expect(parseBar('  0%|          | 0/100 [00:00<?, ?it/s]')?.remaining).toBeUndefined();
    expect(parseBar('slow:  10%|█         | 1/10 [00:02<00:18,  2.00s/it]')).toMatchObject({ rate: 0.5, unit: 'it' });
    expect(parseBar('dl: 100%|██████████| 1.00M/1.00M [00:01<00:00, 1.00MB/s]')).toMatchObject({
      n: 1e6,
      total: 1e6,
      unit: 'B',
      rate: 1e6,
    });
    expect(parseBar('x:  50%|#####     | 5/10 [00:01<00:01,  4.10samples/s]')).toMatchObject({ unit: 'samples' });
  });

  it('is not fooled by lines that merely look like bars', () => {
    for (const line of [
      '50% done',
      'progress: 50% (5/10)',
      'accuracy 97%| best so far',
      '100%|██████████| done',
      'loaded 45%|  45/100 items',
      'epoch 3: 50% ━━━ halfway',
      'GPU util 50% ━━━━ 1/2 of the memory',
      '45% [00:10<00:12, 4.50it/s]',
      '',
    ]) {
      expect(parseBar(line), line).toBeUndefined();
    }
  });
});
