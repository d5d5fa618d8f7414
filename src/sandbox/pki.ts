// Certificates and keys of the sandbox cluster, made with openssl once and reused: a CA, the API server's and the
// controller manager's serving certificates for 127.0.0.1, the service-account signing key pair, and static tokens
// for the admin and for kube-controller-manager.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  controllerManagerCert: string;
  controllerManagerKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  tokenFile: string;
  token: string;
  /** The token of the user system:kube-controller-manager (Kubernetes' bootstrap RBAC binds its ClusterRole to it). */
  controllerManagerToken: string;
}

export function pkiPaths(dir: string): Omit<Pki, 'token' | 'controllerManagerToken'> {
  return {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    servingCert: join(dir, 'apiserver.crt'),
    servingKey: join(dir, 'apiserver.key'),
    controllerManagerCert: join(dir, 'controller-manager.crt'),
    controllerManagerKey: join(dir, 'controller-manager.key'),
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPub: join(dir, 'sa.pub'),
    tokenFile: join(dir, 'tokens.csv'),
  };
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
// ECDSA P-256 keys: every sandbox component takes them (Go's TLS, kube-apiserver's ES256 service-account tokens, Node's
// TLS), and making one costs milliseconds where an RSA 2048 key cost about 0.4 s of CPU (four per fresh sandbox, and
// the test suite makes a fresh sandbox per file).
const newEcKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];

/** Make whatever is missing; returns the paths and the admin token. `serviceIp` is the kubernetes Service's cluster IP. */
export function ensurePki(dir: string, serviceIp: string): Pki {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = pkiPaths(dir);
  if (!existsSync(p.caCert) || !existsSync(p.caKey)) {
    openssl(['req', '-x509', ...newEcKey, '-nodes', '-keyout', p.caKey, '-out', p.caCert, '-days', '3650', '-subj', '/CN=meshproof-sandbox-ca']);
  }
  const issue = (cert: string, key: string, name: string, dnsNames: string[], ips: string[]) => {
    if (existsSync(cert) && existsSync(key)) return;
    const ext = join(dir, `${name}.ext`);
    writeFileSync(ext, `subjectAltName=${[...dnsNames.map((n) => `DNS:${n}`), ...ips.map((ip) => `IP:${ip}`)].join(',')}\nextendedKeyUsage=serverAuth\n`);
    const csr = join(dir, `${name}.csr`);
    openssl(['req', ...newEcKey, '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
    openssl(['x509', '-req', '-in', csr, '-CA', p.caCert, '-CAkey', p.caKey, '-CAcreateserial', '-out', cert, '-days', '3650', '-extfile', ext]);
  };
  const apiserverNames = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'localhost'];
  issue(p.servingCert, p.servingKey, 'kube-apiserver', apiserverNames, ['127.0.0.1', serviceIp]);
  issue(p.controllerManagerCert, p.controllerManagerKey, 'kube-controller-manager', ['localhost'], ['127.0.0.1']);
  if (!existsSync(p.serviceAccountKey) || !existsSync(p.serviceAccountPub)) {
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', p.serviceAccountKey]);
    openssl(['pkey', '-in', p.serviceAccountKey, '-pubout', '-out', p.serviceAccountPub]);
  }
  // token,user,uid,"groups" (kube-apiserver --token-auth-file): the admin is in system:masters; the controller manager
  // is the user Kubernetes' bootstrap RBAC names (ClusterRoleBinding system:kube-controller-manager). A file from an
  // older sandbox gets the missing line (the API server reads the file when it starts).
  const lines = existsSync(p.tokenFile) ? readFileSync(p.tokenFile, 'utf8').split('\n').filter(Boolean) : [];
  if (lines.length === 0) lines.push(`${randomBytes(24).toString('hex')},meshproof-admin,meshproof-admin,"system:masters"`);
  if (!lines.some((l) => l.split(',')[1] === CONTROLLER_MANAGER_USER))
    lines.push(`${randomBytes(24).toString('hex')},${CONTROLLER_MANAGER_USER},${CONTROLLER_MANAGER_USER}`);
  writeFileSync(p.tokenFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  const tokenOf = (user: string) => {
    const line = lines.find((l) => l.split(',')[1] === user);
    if (!line) throw new Error(`${p.tokenFile}: no token for ${user}`);
    return line.split(',')[0] ?? '';
  };
  return { ...p, token: tokenOf('meshproof-admin'), controllerManagerToken: tokenOf(CONTROLLER_MANAGER_USER) };
}

export const CONTROLLER_MANAGER_USER = 'system:kube-controller-manager';

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
