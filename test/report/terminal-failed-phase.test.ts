// A phase that fails shows ✗ with its error, in the plain progress lines and in the live block (audit: a refused
// apply used to be marked ✓).
import { describe, expect, it } from 'vitest';
import { TerminalReporter, type OutputStream } from '../../src/report/index.ts';
import type { Experiment } from '../../src/spec/types.ts';

class Capture implements OutputStream {
  text = '';
  constructor(
    readonly isTTY = false,
    readonly columns = 120,
  ) {}
  write(chunk: string) {
    this.text += chunk;
    return true;
  }
}

const experiment = {
  file: '/x/e.yaml',
  name: 'bogus-retry-on',
  description: '',
  tags: [],
  scenario: 'bookinfo',
  apply: [],
  expect: [],
  warnings: [],
} as unknown as Experiment;
const refused = 'e.yaml:17:17: VirtualService reviews: spec.http[0].retries.retryOn: unknown retry condition "bogus"';

describe('terminal phase marks', () => {
  it('plain lines: ✓ for a phase that ended well, ✗ with the message for one that failed', () => {
    const stderr = new Capture();
    let t = 0;
    const reporter = new TerminalReporter({ stream: stderr, stdout: new Capture(), env: {}, now: () => (t += 5) });
    reporter.onExperimentStart(experiment, 0, 1);
    reporter.onPhase(experiment, 'snapshot', 'start');
    reporter.onPhase(experiment, 'snapshot', 'end');
    reporter.onPhase(experiment, 'apply', 'start');
    reporter.onPhase(experiment, 'apply', 'end', refused);
    expect(stderr.text).toContain('✓ snapshotting');
    expect(stderr.text).toContain(`✗ applying 5ms ${refused}`);
    expect(stderr.text).not.toContain('✓ applying');
  });

  it('the live block marks the failed phase ✗ too', () => {
    const tty = new Capture(true);
    const reporter = new TerminalReporter({ stream: tty, stdout: new Capture(), env: { NO_COLOR: '1' }, now: () => 0 });
    reporter.onExperimentStart(experiment, 0, 1);
    reporter.onPhase(experiment, 'apply', 'start');
    reporter.onPhase(experiment, 'apply', 'end', refused);
    expect(tty.text).toContain('✗ applying');
    expect(tty.text).not.toContain('✓ applying');
  });
});
