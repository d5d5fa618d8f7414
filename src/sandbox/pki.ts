// Certificates and keys of the sandbox API server, made with openssl once and reused: a CA, the serving certificate
// for 127.0.0.1, the service-account signing key pair and the static admin token.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  tokenFile: string;
  token: string;
}

export function pkiPaths(dir: string): Omit<Pki, 'token'> {
  return {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    servingCert: join(dir, 'apiserver.crt'),
    servingKey: join(dir, 'apiserver.key'),
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPub: join(dir, 'sa.pub'),
    tokenFile: join(dir, 'tokens.csv'),
  };
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/** Make whatever is missing; returns the paths and the admin token. `serviceIp` is the kubernetes Service's cluster IP. */
export function ensurePki(dir: string, serviceIp: string): Pki {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = pkiPaths(dir);
  if (!existsSync(p.caCert) || !existsSync(p.caKey)) {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p.caKey, '-out', p.caCert, '-days', '3650', '-subj', '/CN=meshproof-sandbox-ca']);
  }
  if (!existsSync(p.servingCert) || !existsSync(p.servingKey)) {
    const ext = join(dir, 'apiserver.ext');
    const names = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost'];
    writeFileSync(ext, `subjectAltName=${[...names.map((n) => `DNS:${n}`), 'IP:127.0.0.1', `IP:${serviceIp}`].join(',')}\nextendedKeyUsage=serverAuth\n`);
    const csr = join(dir, 'apiserver.csr');
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p.servingKey, '-out', csr, '-subj', '/CN=kube-apiserver']);
    openssl(['x509', '-req', '-in', csr, '-CA', p.caCert, '-CAkey', p.caKey, '-CAcreateserial', '-out', p.servingCert, '-days', '3650', '-extfile', ext]);
  }
  if (!existsSync(p.serviceAccountKey) || !existsSync(p.serviceAccountPub)) {
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', p.serviceAccountKey]);
    openssl(['pkey', '-in', p.serviceAccountKey, '-pubout', '-out', p.serviceAccountPub]);
  }
  if (!existsSync(p.tokenFile)) {
    // token,user,uid,"groups" (kube-apiserver --token-auth-file): the admin is in system:masters.
    writeFileSync(p.tokenFile, `${randomBytes(24).toString('hex')},meshproof-admin,meshproof-admin,"system:masters"\n`, { mode: 0o600 });
  }
  const [token = ''] = readFileSync(p.tokenFile, 'utf8').split(',');
  return { ...p, token };
}

/** A kubeconfig with one cluster, user and context; TLS verified against the sandbox CA. */
export function kubeconfigYaml(server: string, caCert: string, token: string, context: string): string {
  const ca = readFileSync(caCert).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    `current-context: ${context}`,
    'clusters:',
    `- name: ${context}`,
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    `- name: ${context}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    `- name: ${context}`,
    '  context:',
    `    cluster: ${context}`,
    `    user: ${context}`,
    '',
  ].join('\n');
}
