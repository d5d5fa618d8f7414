// Issue 17 item 7: no `any`, and typescript-eslint's strict rules on the code. `npm test` runs `eslint .`; this keeps
// eslint.config.js from quietly dropping those rules for a part of the repository (a new folder, a narrowed glob).
import { readFileSync } from 'node:fs';
import { ESLint } from 'eslint';
import * as prettier from 'prettier';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();

async function severity(file: string, rule: string): Promise<number | undefined> {
  const config = (await eslint.calculateConfigForFile(file)) as { rules?: Record<string, [number, ...unknown[]]> };
  return config.rules?.[rule]?.[0];
}

describe('eslint.config.js', () => {
  it.each([
    'src/spec/load.ts',
    'src/runner/run.ts',
    'src/sandbox/objects.ts',
    'src/fidelity/bookinfo.ts',
    'scripts/fidelity.ts',
    'bench/run.ts',
    'bin/meshproof.js',
  ])('%s: no-explicit-any and the strict set are errors', async (file) => {
    expect(await eslint.isPathIgnored(file)).toBe(false);
    expect(await severity(file, '@typescript-eslint/no-explicit-any')).toBe(2);
    expect(await severity(file, '@typescript-eslint/no-extraneous-class')).toBe(2); // in `strict`, not in `recommended`
  });

  it.each(['src/spec/load.ts', 'src/targets/local/mesh.ts', 'bench/run.ts', 'scripts/sandbox-up.ts'])(
    '%s: no-non-null-assertion is an error (a value that must exist is narrowed or read with must())',
    async (file) => {
      expect(await severity(file, '@typescript-eslint/no-non-null-assertion')).toBe(2);
    },
  );

  it.each(['src/runner/run.ts', 'src/targets/local/mesh.ts'])(
    '%s: the type-aware rules are errors (floating and misused promises, unsafe any, conditions the types make unnecessary)',
    async (file) => {
      for (const rule of [
        'no-floating-promises',
        'no-misused-promises',
        'await-thenable',
        'no-unsafe-argument',
        'no-unsafe-member-access',
        'no-unnecessary-condition',
        'no-base-to-string',
      ]) {
        expect(await severity(file, `@typescript-eslint/${rule}`), rule).toBe(2);
      }
    },
  );

  it.each(['test/spec/fuzz.test.ts', 'test/kube/fake-apiserver.ts'])('%s: no-explicit-any is an error in tests too', async (file) => {
    expect(await eslint.isPathIgnored(file)).toBe(false);
    expect(await severity(file, '@typescript-eslint/no-explicit-any')).toBe(2);
  });
});

// Nagle's algorithm off on every TCP socket meshproof opens or accepts (eslint.config.js says why): with it on, the
// kube target's port-forward held the second part of a reply for the client's delayed ACK, 43.8 ms a request.
describe('TCP sockets are opened with { noDelay: true }', () => {
  const lint = async (code: string, filePath = 'scripts/no-delay-probe.ts') =>
    (await eslint.lintText(`import net from 'node:net';\n${code}\n`, { filePath }))[0]?.messages.map((m) => `${m.ruleId}: ${m.message}`) ?? [];

  it.each([
    'net.createServer((socket) => socket.end());',
    "net.connect(80, '127.0.0.1');",
    "net.createConnection({ port: 80, host: '127.0.0.1' });",
    "net.connect({ port: 80, host: '127.0.0.1', noDelay: false });",
  ])('refused in src, scripts and bench: %s', async (code) => {
    for (const filePath of ['scripts/no-delay-probe.ts', 'bench/no-delay-probe.ts']) {
      expect(await lint(code, filePath)).toEqual([expect.stringMatching(/^no-restricted-syntax: open TCP sockets with \{ noDelay: true \}/)]);
    }
    expect(await severity('src/targets/kube/port-forward.ts', 'no-restricted-syntax')).toBe(2);
  });

  it.each([
    'net.createServer({ noDelay: true }, (socket) => socket.end());',
    "net.connect({ port: 80, host: '127.0.0.1', noDelay: true });",
    'const options = { port: 80 };\nnet.connect({ ...options, noDelay: true });',
  ])('accepted: %s', async (code) => {
    expect(await lint(code)).toEqual([]);
  });

  it('a named import of createServer, connect or createConnection from node:net is refused (it would bypass the rule)', async () => {
    const messages =
      (await eslint.lintText("import { connect } from 'node:net';\nconnect(80);\n", { filePath: 'scripts/no-delay-probe.ts' }))[0]?.messages ?? [];
    expect(messages.map((m) => m.ruleId)).toEqual(['no-restricted-imports']);
  });
});

describe('npm test and npm run lint', () => {
  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;

  it.each(['test', 'lint'])('%s runs the linter, the formatter check and the dead-code check', (name) => {
    const script = scripts[name] ?? '';
    expect(script).toContain('eslint .');
    expect(script).toContain('prettier --check .');
    expect(script).toContain('knip');
  });

  it.each(['src/runner/run.ts', 'test/spec/fuzz.test.ts', 'bench/run.ts', 'scripts/sandbox-up.ts', 'bin/meshproof.js'])('prettier formats %s', async (file) => {
    const info = await prettier.getFileInfo(file, { ignorePath: '.prettierignore' });
    expect(info.ignored).toBe(false);
    expect(info.inferredParser).not.toBeNull();
  });
});
