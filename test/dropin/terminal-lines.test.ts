// The in-place drawing of `\r` progress states on a terminal (the pty test in test/cli/terminal.test.ts shows it end
// to end): what is written for each line, over how many rows, and when a state starts a line of its own.
import { describe, expect, it } from 'vitest';
import { TerminalLines } from '../../src/launch/run/console-output.js';

describe('TerminalLines', () => {
  it("draws a rank's next state over its last one, prefix included, and ends the line when it is finished", () => {
    const t = new TerminalLines();
    expect(t.line('stdout:0', '[rank0]:10%', true)).toBe('[rank0]:10%\n');
    expect(t.line('stdout:0', '[rank0]:20%', true)).toBe('\x1b[1A\r[rank0]:20%\x1b[J\n');
    expect(t.line('stdout:0', '[rank0]:done', false)).toBe('\x1b[1A\r[rank0]:done\x1b[J\n');
    expect(t.line('stdout:0', '[rank0]:next', false)).toBe('[rank0]:next\n');
  });

  it('goes back over every row a wrapped state took', () => {
    const t = new TerminalLines();
    t.line('stdout:0', 'x'.repeat(25), true, 25, 10);
    expect(t.line('stdout:0', 'y', true, 1, 10)).toBe('\x1b[3A\ry\x1b[J\n');
  });

  it("starts a line of its own after another rank's line, or anything else written", () => {
    const t = new TerminalLines();
    t.line('stdout:0', 'a', true);
    expect(t.line('stdout:1', 'b', false)).toBe('b\n');
    expect(t.line('stdout:0', 'c', true)).toBe('c\n');
    t.interrupt();
    expect(t.line('stdout:0', 'd', true)).toBe('d\n');
  });
});
