// The echo image's identity and behaviour, from its environment: what meshproof --deploy-echo writes into each
// Deployment (src/targets/kube/echo-plan.ts) and the standalone echo (src/echo/main.ts) reads. The pod's name and
// namespace come from the Downward API, the behaviour from the pod's meshproof.dev/echo annotation (also through
// the Downward API), the rest as plain values worked out from the scenario folder.
import { SpecError } from '../errors.ts';
import { FieldPath } from '../istio/networking/fields.ts';
import { echoAnnotation, parseEchoBehaviour, type EchoBehaviour } from '../targets/local/apps/echo-config.ts';
import type { EchoIdentity } from '../targets/local/apps/echo.ts';

const names = {
  pod: 'MESHPROOF_ECHO_POD',
  namespace: 'MESHPROOF_ECHO_NAMESPACE',
  behaviour: 'MESHPROOF_ECHO_BEHAVIOUR',
  services: 'MESHPROOF_ECHO_SERVICES',
  app: 'MESHPROOF_ECHO_APP',
  version: 'MESHPROOF_ECHO_VERSION',
  port: 'MESHPROOF_ECHO_PORT',
  seed: 'MESHPROOF_ECHO_SEED',
} as const;

type EnvVar = { name: string; value: string } | { name: string; valueFrom: { fieldRef: { fieldPath: string } } };

/** The container env of an echo pod (Kubernetes EnvVar objects). */
export function echoEnv(identity: { services: string[]; app: string; version: string; port: number }): EnvVar[] {
  const fromField = (name: string, fieldPath: string): EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  return [
    fromField(names.pod, 'metadata.name'),
    fromField(names.namespace, 'metadata.namespace'),
    fromField(names.behaviour, `metadata.annotations['${echoAnnotation}']`),
    { name: names.services, value: identity.services.join(',') },
    { name: names.app, value: identity.app },
    { name: names.version, value: identity.version },
    { name: names.port, value: String(identity.port) },
  ];
}

export interface StandaloneEcho {
  podName: string;
  identity: EchoIdentity;
  behaviour: EchoBehaviour;
  /** Seed of the echo's draws (latency, errors, ?codes); random per process unless set. */
  seed: number;
}

/** The echo's configuration from its environment; a missing or malformed value throws naming the variable. */
export function standaloneEchoFromEnv(env: NodeJS.ProcessEnv, randomSeed: () => number): StandaloneEcho {
  const need = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '') throw new Error(`${name} is not set (meshproof --deploy-echo sets it on every echo container)`);
    return value;
  };
  const port = Number(need(names.port));
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${names.port}=${env[names.port] ?? ''} is not a port number`);
  const seedText = env[names.seed];
  const seed = seedText === undefined || seedText === '' ? randomSeed() : Number(seedText);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`${names.seed}=${seedText ?? ''} is not a whole number`);
  const services = (env[names.services] ?? '').split(',').filter((s) => s !== '');
  const podName = need(names.pod);
  let behaviour: EchoBehaviour;
  try {
    // Errors name the annotation as the local target does, here on the pod.
    behaviour = parseEchoBehaviour(env[names.behaviour] ?? '', FieldPath.of('Pod', podName).key('metadata.annotations').entry(echoAnnotation));
  } catch (error) {
    throw new Error(`${names.behaviour}: ${error instanceof SpecError ? error.format() : String(error)}`);
  }
  return {
    podName,
    identity: { services: () => services, app: need(names.app), version: env[names.version] || 'unknown', namespace: need(names.namespace), port },
    behaviour,
    seed,
  };
}
