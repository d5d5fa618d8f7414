// A run killed between writing its journal's temporary file and renaming it leaves `<run>.json.<pid>.tmp`: the
// journal it was replacing is intact, and the temporary file is removed once its writer is gone.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { journalDir, newJournal, readLocalJournals, writeLocalJournal } from '../../src/targets/kube/journal.ts';
import { tempDir } from '../support/temp-dir.ts';

describe('local journal temporary files', () => {
  let state: string;
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.XDG_STATE_HOME;
    state = tempDir('meshproof-journal-');
    process.env.XDG_STATE_HOME = state;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.XDG_STATE_HOME;
    else process.env.XDG_STATE_HOME = saved;
    rmSync(state, { recursive: true, force: true });
  });

  it("removes a dead writer's temporary file, keeps a live writer's, and still reads the intact journal", async () => {
    const journal = newJournal({ runId: 'mp-1', context: 'kind-x', server: 'https://127.0.0.1:1', namespace: 'default' });
    await writeLocalJournal(journal);
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
    const dir = journalDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `mp-1.json.${deadPid}.tmp`), '{"half');
    writeFileSync(join(dir, `mp-2.json.${process.pid}.tmp`), '{"being written');
    const journals = await readLocalJournals();
    expect(journals.map((j) => j.runId)).toEqual(['mp-1']);
    expect(readdirSync(dir).sort()).toEqual(['mp-1.json', `mp-2.json.${process.pid}.tmp`]);
    expect(existsSync(join(dir, `mp-1.json.${deadPid}.tmp`))).toBe(false);
  });
});
