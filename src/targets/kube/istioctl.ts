// The pinned istioctl (built from the Go module proxy by scripts/istioctl-build.ts) and offline analysis with it.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { TargetError } from '../../errors.ts';
import { toolPath } from '../../load/tools.ts';

/**
 * The istio.io/istio module version istioctl is built from. Istio's tags (`1.28.0`) are not Go semver, so the Go
 * module proxy only serves istio.io/istio as pseudo-versions of commits. This one is the release-1.31 line (its VERSION
 * file says 1.31; it requires istio.io/api v1.31.0-rc.0): the newest commit whose whole dependency graph the module
 * proxy reachable from this project serves. See docs/kube.md, "istioctl".
 */
export const istioctlPin = {
  module: 'istio.io/istio',
  moduleVersion: 'v0.0.0-20260827124520-eed52ebb66ad',
  release: '1.31',
  commit: 'eed52ebb66ad',
} as const;

/** Version label of the pinned build, as `istioctl version --remote=false` prints it. */
export const istioctlVersion = `${istioctlPin.release}-${istioctlPin.commit}`;

/** Where scripts/istioctl-build.ts puts the pinned build: the shared tools cache (src/load/tools.ts). */
export function pinnedIstioctlPath(): string {
  return toolPath('istioctl', istioctlVersion);
}

/** The istioctl meshproof runs: MESHPROOF_ISTIOCTL (e.g. a release binary) when set, else the pinned build. */
export function istioctlPath(): string {
  return process.env.MESHPROOF_ISTIOCTL || pinnedIstioctlPath();
}

/** How to get istioctl, for messages when it is missing. */
const istioctlBuildHint = 'build the pinned one with `npx tsx scripts/istioctl-build.ts` (or set MESHPROOF_ISTIOCTL to an istioctl binary)';

export function istioctlPresent(): boolean {
  return existsSync(istioctlPath());
}

export interface Finding {
  /** Istio analyzer code, e.g. IST0101. */
  code: string;
  level: 'Error' | 'Warning' | 'Info';
  message: string;
  /** The resource, e.g. `VirtualService default/reviews`. */
  origin?: string;
  /** Where the resource is, when istioctl knows it. */
  file?: string;
  line?: number;
  documentationUrl?: string;
}

interface RawMessage {
  code?: string;
  level?: string;
  message?: string;
  origin?: string;
  reference?: string;
  documentationUrl?: string;
}

/** istioctl exits 79 when the analyzers found issues at or above the failure threshold (istioctl/cmd/sysexits.go). */
const exitAnalyzerFoundIssues = 79;

/** Parse `istioctl analyze -o json` output: a JSON array of messages (diag.Message.Unstructured). */
export function parseAnalyzeJson(stdout: string): Finding[] {
  const text = stdout.trim();
  if (text === '') return [];
  const raw = JSON.parse(text) as RawMessage[] | null;
  if (raw === null) return [];
  if (!Array.isArray(raw)) throw new Error('istioctl analyze -o json did not print a JSON array');
  return raw.map((m) => {
    const finding: Finding = {
      code: m.code ?? 'unknown',
      level: m.level === 'Error' || m.level === 'Warning' ? m.level : 'Info',
      message: m.message ?? '',
    };
    if (m.origin) finding.origin = m.origin;
    if (m.documentationUrl) finding.documentationUrl = m.documentationUrl;
    // reference is `file:line` (or just a file) for resources read from files.
    const ref = m.reference ? /^(.*?)(?::(\d+))?$/.exec(m.reference) : null;
    if (ref) {
      finding.file = ref[1];
      if (ref[2]) finding.line = Number(ref[2]);
    }
    return finding;
  });
}

/**
 * Run `istioctl analyze --use-kube=false` over files (offline: no cluster is contacted) and return its findings.
 * Infos are included; callers decide what fails. Throws TargetError when istioctl is missing or cannot parse a file.
 */
export async function analyzeOffline(files: string[], options: { binary?: string; timeoutMs?: number } = {}): Promise<Finding[]> {
  const binary = options.binary ?? istioctlPath();
  if (!existsSync(binary)) {
    throw new TargetError(`istioctl not found at ${binary}; ${istioctlBuildHint}`);
  }
  if (files.length === 0) return [];
  const args = ['analyze', '--use-kube=false', '--output', 'json', '--output-threshold', 'Info', ...files];
  const { code, stdout, stderr } = await run(binary, args, options.timeoutMs ?? 120_000);
  if (code !== 0 && code !== exitAnalyzerFoundIssues) {
    throw new TargetError(`istioctl analyze failed (exit ${code}): ${stderr.trim() || stdout.trim()}`);
  }
  let findings: Finding[];
  try {
    findings = parseAnalyzeJson(stdout);
  } catch (error) {
    throw new TargetError(`istioctl analyze printed output meshproof cannot read: ${(error as Error).message}\n${stdout.slice(0, 500)}`);
  }
  // istioctl names the file by its base name only; give back the path we were given when that is unambiguous.
  for (const finding of findings) {
    const candidates = files.filter((f) => basename(f) === finding.file);
    if (candidates.length === 1) finding.file = candidates[0];
  }
  return findings;
}

function run(binary: string, args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, KUBECONFIG: '/dev/null' } }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        reject(new TargetError(`istioctl could not run: ${error.message}`));
        return;
      }
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
  });
}
