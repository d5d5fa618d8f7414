// The echo image's entry point: `node --import tsx src/echo/main.ts` (deploy/echo/Dockerfile). Its identity and
// behaviour come from the environment meshproof --deploy-echo writes (src/echo/identity.ts); it listens on
// MESHPROOF_ECHO_PORT on every address (the pod's sidecar forwards to it), or on MESHPROOF_ECHO_LISTEN when set.
import { randomInt } from 'node:crypto';
import { standaloneEchoFromEnv } from './identity.ts';
import { startEchoServer } from './server.ts';

const echo = standaloneEchoFromEnv(process.env, () => randomInt(0, 2 ** 31));
const server = await startEchoServer(echo, process.env.MESHPROOF_ECHO_LISTEN ?? '0.0.0.0', echo.identity.port);
console.log(`echo ${echo.identity.namespace}/${echo.podName} (${echo.identity.app} ${echo.identity.version}) listening on ${server.url}`);

const stop = (signal: string) => {
  console.log(`${signal}: stopping`);
  void server.close().then(() => process.exit(0));
};
process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));
