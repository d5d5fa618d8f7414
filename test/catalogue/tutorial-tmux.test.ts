// `meshproof tutorial bookinfo` in a real terminal: tmux (scripts/ci.d/25-tmux.sh) gives the CLI a pseudo-terminal,
// so it sees a TTY (colours, interactive prompt) as a user's shell would, and the test reads the screen back.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogueDir, catalogueFiles, repoRoot } from './cli.ts';
import { parse } from 'yaml';
import { must } from '../../src/must.ts';
import { tempDir } from '../support/temp-dir.ts';

const work = tempDir('meshproof-tmux-');
const socket = `meshproof-test-${process.pid}`;
const conf = join(work, 'tmux.conf');

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', socket, '-f', conf, ...args], { encoding: 'utf8' });
}

/** Starts `command` in a detached 120×40 terminal; the pane stays after the command exits so it can be read. */
function start(session: string, command: string): void {
  tmux(
    'new-session',
    '-d',
    '-s',
    session,
    '-x',
    '120',
    '-y',
    '40',
    '-e',
    'TERM=xterm-256color',
    '-e',
    'NO_COLOR=',
    `cd ${repoRoot} && ${command}; echo "EXIT=$?"`,
  );
}

/** The whole scroll-back, wrapped lines joined; with `escapes`, the colour sequences as the terminal received them. */
function screen(session: string, escapes = false): string {
  return tmux('capture-pane', '-p', '-J', ...(escapes ? ['-e'] : []), '-S', '-', '-E', '-', '-t', session);
}

async function waitFor(session: string, test: (text: string) => boolean, timeoutMs: number, what: string, pollMs = 250): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = screen(session);
    if (test(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; screen:\n${text.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

const exitOf = (text: string) => /^EXIT=(\d+)$/m.exec(text)?.[1];

/** Tutorial steps as the command walks them: experiments tagged `tutorial`, in file order. */
const steps = catalogueFiles()
  .map((f) => parse(readFileSync(join(catalogueDir, f), 'utf8')) as { metadata: { name: string; tags?: string[] } })
  .filter((e) => e.metadata.tags?.includes('tutorial'))
  .map((e) => e.metadata.name);

beforeAll(() => {
  writeFileSync(conf, 'set -g history-limit 100000\nset -g remain-on-exit on\n');
});
afterAll(() => {
  try {
    tmux('kill-server');
  } catch {
    // already gone
  }
  rmSync(work, { recursive: true, force: true });
});

describe('meshproof tutorial bookinfo in a terminal (tmux)', () => {
  it('--yes runs every step start to end: headers, the YAML, the verdicts, the report; sane colours; exit 0', async () => {
    const reportDir = join(work, 'yes');
    start('yes', `node bin/meshproof.js tutorial bookinfo --yes --seed 5 --report-dir ${reportDir}`);
    const text = await waitFor('yes', (t) => exitOf(t) !== undefined, 170_000, 'the tutorial to finish');
    expect(exitOf(text), text.slice(-3000)).toBe('0');

    expect(text).toMatch(new RegExp(`^meshproof tutorial: bookinfo — ${steps.length} steps on the local target\\.`, 'm'));
    expect(text).not.toMatch(/Enter runs this step/);
    let at = 0;
    steps.forEach((name, i) => {
      const header = `Step ${i + 1}/${steps.length}: ${name}`;
      const found = text.indexOf(header, at);
      expect(found, `"${header}" after the previous step`).toBeGreaterThan(at - 1);
      at = found;
    });
    // Each step shows what it applies as YAML, what must be observed, what was observed and the verdicts.
    expect(text.match(/^ {2}What is applied:$/gm)?.length).toBe(steps.length);
    expect(text.match(/^ {2}What must be observed:$/gm)?.length).toBe(steps.length);
    expect(text.match(/^ {2}What was observed:$/gm)?.length).toBe(steps.length);
    expect(text.match(/^ {2}Verdicts:$/gm)?.length).toBe(steps.length);
    expect(text).toMatch(/^ {4}apiVersion: networking\.istio\.io\/v1$/m);
    expect(text).toMatch(/^ {4}kind: VirtualService$/m);
    expect(text).toMatch(/^ {6}hosts: \[ reviews \]$/m);
    expect(text).toMatch(/^ {4}kind: AuthorizationPolicy$/m);
    expect(text).toMatch(/^ {4}kind: PeerAuthentication$/m);
    expect(text).toMatch(/^ {4}kind: EnvoyFilter$/m);
    expect(text).toMatch(/^ {4}# plus the version subsets \(DestinationRules\) of scenarios\/bookinfo\/destination-rule-all\.yaml$/m);
    expect(text).toMatch(/^ {4}- reviews\.version split v1 80 %, v3 20 %, each ± 5 points$/m);
    expect(text).toMatch(/^ {4}✓ pass distribution of reviews\.version: v1 got \d+\.\d % \(99 % anytime interval/m);
    expect(text).toMatch(/^ {4}✓ pass 429s as the token bucket predicts: \d+ of \d+ requests were rate limited/m);
    expect(text).not.toMatch(/✗|\? inconclusive|ERROR|FAIL/);
    expect(text).toMatch(new RegExp(`^PASS ${steps.length} passed in `, 'm'));
    expect(text).toContain(`The tutorial's report: ${join(reportDir, 'index.html')}`);

    // Colours: only plain SGR codes (bold, dim, red/green/yellow/cyan/grey and their resets), nothing bleeding into
    // the plain lines that follow, and nothing left switched on at the end.
    const coloured = screen('yes', true);
    expect(coloured.replace(/\u001b\[[0-9;]*m/g, '')).not.toMatch(/\u001b/);
    expect(text).not.toMatch(/\u001b|\[\d+m/);
    expect(coloured).toMatch(/\u001b\[1mStep 1\/\d+: /);
    expect(coloured).toMatch(/\u001b\[32m✓ pass/);
    // tmux's capture carries attributes from line to line; follow them to see which lines are plain.
    const state = new Set<string>();
    const description = steps.length > 0 ? /^ {2}\S/ : undefined;
    let afterHeader = false;
    for (const line of coloured.split('\n')) {
      const plainText = line.replace(/\u001b\[[0-9;]*m/g, '');
      if (afterHeader && description?.test(plainText)) {
        // The step's description right after its bold header is plain text.
        expect(line.startsWith('\u001b[0m') || state.size === 0, `description in plain text: ${JSON.stringify(line)}`).toBe(true);
      }
      afterHeader = /^Step \d+\/\d+: /.test(plainText);
      for (const [, params = ''] of line.matchAll(/\u001b\[([0-9;]*)m/g)) {
        for (const code of (params === '' ? '0' : params).split(';')) {
          expect(['0', '1', '2', '22', '31', '32', '33', '36', '39', '49', '90'], `SGR code ${code} in ${JSON.stringify(line)}`).toContain(code);
          if (code === '0') state.clear();
          else if (code === '22') {
            state.delete('1');
            state.delete('2');
          } else if (code === '39') [...state].filter((c) => /^(3\d|90)$/.test(c)).forEach((c) => state.delete(c));
          else if (code !== '49') state.add(code);
        }
      }
    }
    expect([...state], 'attributes still on at the end').toEqual([]);
  }, 180_000);

  it('interactive: Enter runs step 1, Ctrl-C during step 2 restores the mesh and exits 130', async () => {
    const reportDir = join(work, 'interactive');
    start('interactive', `node bin/meshproof.js tutorial bookinfo --seed 6 --report-dir ${reportDir}`);
    await waitFor('interactive', (t) => t.includes('Enter runs this step'), 60_000, 'the first prompt');
    expect(screen('interactive')).not.toContain('What was observed');
    tmux('send-keys', '-t', 'interactive', 'Enter');
    // After step 1's verdicts the tutorial waits; Enter shows step 2 and its prompt.
    await waitFor('interactive', (t) => t.includes('Enter for the next step'), 60_000, "the prompt after step 1's verdicts");
    expect(screen('interactive')).not.toContain(`Step 2/${steps.length}:`);
    tmux('send-keys', '-t', 'interactive', 'Enter');
    await waitFor('interactive', (t) => t.includes(`Step 2/${steps.length}:`) && (t.match(/Enter runs this step/g)?.length ?? 0) >= 2, 60_000, 'step 2 prompt');
    const step1 = screen('interactive');
    expect(step1).toMatch(/^ {4}✓ pass /m);
    tmux('send-keys', '-t', 'interactive', 'Enter');
    // Interrupt step 2 while its load runs: the live line ticks off "reading counters" just before the load starts,
    // and the load lasts more than a second.
    await waitFor('interactive', (t) => /✓ reading counters/.test(t.slice(t.lastIndexOf(`[2/${steps.length}]`))), 60_000, "step 2's load", 50);
    tmux('send-keys', '-t', 'interactive', 'C-c');
    const text = await waitFor('interactive', (t) => exitOf(t) !== undefined, 60_000, 'the tutorial to exit');
    expect(exitOf(text), text.slice(-3000)).toBe('130');
    expect(text).toContain('SIGINT received: stopping load, then restoring the mesh before exiting.');
    // Step 2 stops at the verdict (`until: verdict`), sometimes within a few hundred ms: the signal lands in its load
    // (stopped, resources removed) or in its restore (it finished); either way the later steps are not run.
    // The paragraph is wrapped to the terminal's width: words may be separated by a line break.
    expect(text).toMatch(
      /^Interrupted\.\s+The\s+mesh\s+was\s+restored\s+to\s+how\s+it\s+was\s+before\s+the\s+tutorial\.\s+(Step\s+2\s+\(\S+\)\s+was\s+stopped\s+and\s+its\s+\d+\s+resources?\s+(was|were)\s+removed|It\s+stopped\s+after\s+step\s+2\s+\(\S+\))\.\s+\d+\s+steps?\s+(was|were)\s+not\s+run\.$/m,
    );
    expect(text).not.toMatch(/restoring left problems|local mesh process/);
    expect(text).not.toContain(`Step 3/${steps.length}`);
    const result = JSON.parse(readFileSync(join(reportDir, 'result.json'), 'utf8')) as {
      interrupted: boolean;
      outcome: string;
      exitCode: number;
      experiments: { name: string; outcome: string; restore?: { deleted: string[]; errors: string[] } }[];
    };
    expect(result.interrupted).toBe(true);
    expect(result.outcome).toBe('interrupted');
    expect(result.exitCode).toBe(130);
    // Every step is listed: the two that ran, then the rest as skipped (never dropped).
    expect(result.experiments.map((e) => e.name)).toEqual(steps);
    expect(result.experiments.map((e) => e.outcome)).toEqual([
      'pass',
      must(result.experiments[1], 'result.experiments[1]').outcome,
      ...steps.slice(2).map(() => 'skipped'),
    ]);
    expect(['interrupted', 'pass']).toContain(must(result.experiments[1], 'result.experiments[1]').outcome);
    for (const e of result.experiments.slice(0, 2)) expect(e.restore?.errors).toEqual([]);
    expect(result.experiments[1]?.restore?.deleted.length).toBeGreaterThan(0);
  }, 120_000);

  it('80 × 40, NO_COLOR: no line over 80 columns; s skips, b goes back, each step waits after its verdicts, q quits (exit 0)', async () => {
    const reportDir = join(work, 'narrow');
    tmux(
      'new-session',
      '-d',
      '-s',
      'narrow',
      '-x',
      '80',
      '-y',
      '40',
      '-e',
      'TERM=xterm-256color',
      '-e',
      'NO_COLOR=1',
      `cd ${repoRoot} && node bin/meshproof.js tutorial bookinfo --seed 8 --report-dir ${reportDir}; echo "EXIT=$?"`,
    );
    const prompts = (t: string) => t.match(/Enter runs this step \(s skip, b back, q quit\):/g)?.length ?? 0;
    await waitFor('narrow', (t) => prompts(t) >= 1, 60_000, 'the first prompt');
    tmux('send-keys', '-t', 'narrow', 's', 'Enter');
    await waitFor('narrow', (t) => prompts(t) >= 2 && t.includes(`Step 2/${steps.length}: ${steps[1]}`), 30_000, 'step 2 after skipping step 1');
    tmux('send-keys', '-t', 'narrow', 'b', 'Enter');
    await waitFor(
      'narrow',
      (t) => prompts(t) >= 3 && (t.match(new RegExp(`Step 1/${steps.length}: ${steps[0]}`, 'g'))?.length ?? 0) >= 2,
      30_000,
      'step 1 again after going back',
    );
    tmux('send-keys', '-t', 'narrow', 'Enter');
    // After its verdicts the step waits: nothing of step 2 is shown until asked.
    const after = await waitFor(
      'narrow',
      (t) => /Enter for the next step \(r run it again, b back, q quit\):/.test(t),
      60_000,
      "step 1's verdicts and the prompt after them",
    );
    expect(after.slice(after.lastIndexOf('Verdicts:'))).not.toContain(`Step 2/${steps.length}`);
    expect(after).toMatch(/^ {4}✓ pass /m);
    tmux('send-keys', '-t', 'narrow', 'q', 'Enter');
    const text = await waitFor('narrow', (t) => exitOf(t) !== undefined, 60_000, 'the tutorial to exit');
    expect(exitOf(text), text.slice(-3000)).toBe('0');
    // capture-pane -J joins the pieces of a line the terminal wrapped: any line over 80 columns shows here.
    const long = text.split('\n').filter((line) => [...line].length > 80);
    expect(long, long.join('\n')).toEqual([]);
    expect(text).not.toMatch(/\u001b/);
    const result = JSON.parse(readFileSync(join(reportDir, 'result.json'), 'utf8')) as {
      exitCode: number;
      experiments: { name: string; outcome: string; skipReason?: string }[];
    };
    expect(result.exitCode).toBe(0);
    expect(result.experiments.map((e) => e.outcome)).toEqual(['pass', ...steps.slice(1).map(() => 'skipped')]);
    expect(result.experiments[1]!.skipReason).toBe('not run: the tutorial was quit at step 2');
  }, 120_000);

  it('--step starts at that step; list fits 80 columns', async () => {
    const reportDir = join(work, 'step');
    start('step', `node bin/meshproof.js tutorial bookinfo --yes --step ${steps.length} --seed 9 --report-dir ${reportDir}`);
    const text = await waitFor('step', (t) => exitOf(t) !== undefined, 90_000, 'the last step');
    expect(exitOf(text), text.slice(-3000)).toBe('0');
    expect(text).toContain(`, from step ${steps.length}.`);
    expect(text).not.toContain(`Step 1/${steps.length}`);
    expect(text).toContain(`Step ${steps.length}/${steps.length}: ${steps.at(-1)}`);
    tmux(
      'new-session',
      '-d',
      '-s',
      'list',
      '-x',
      '80',
      '-y',
      '40',
      '-e',
      'NO_COLOR=1',
      `cd ${repoRoot} && node bin/meshproof.js list experiments/bookinfo; echo "EXIT=$?"`,
    );
    const list = await waitFor('list', (t) => exitOf(t) !== undefined, 30_000, 'list');
    expect(list.split('\n').filter((line) => [...line].length > 80)).toEqual([]);
    expect(list).toMatch(/^route-all-v1 \[/m);
  }, 120_000);

  it('interactive: Ctrl-C at the first prompt is an interruption (nothing applied), not an error in apply; exit 130', async () => {
    const reportDir = join(work, 'prompt');
    start('prompt', `node bin/meshproof.js tutorial bookinfo --seed 6 --report-dir ${reportDir}`);
    await waitFor('prompt', (t) => t.includes('Enter runs this step'), 60_000, 'the first prompt');
    tmux('send-keys', '-t', 'prompt', 'C-c');
    const text = await waitFor('prompt', (t) => exitOf(t) !== undefined, 60_000, 'the tutorial to exit');
    expect(exitOf(text), text.slice(-3000)).toBe('130');
    expect(text).not.toMatch(/error in apply|ERROR|SIGINT received again/);
    expect(text).toMatch(
      new RegExp(
        `^Interrupted\\. The mesh was restored to how it was before the tutorial\\. No step had started\\. ${steps.length} steps were not run\\.$`.replace(
          / /g,
          '\\s+',
        ),
        'm',
      ),
    );
    expect(text).toMatch(/^INTERRUPTED \d+ skipped in /m);
    const result = JSON.parse(readFileSync(join(reportDir, 'result.json'), 'utf8')) as {
      outcome: string;
      exitCode: number;
      experiments: { outcome: string }[];
    };
    expect([result.outcome, result.exitCode]).toEqual(['interrupted', 130]);
    expect(result.experiments.map((e) => e.outcome)).toEqual(steps.map(() => 'skipped'));
  }, 90_000);
});
