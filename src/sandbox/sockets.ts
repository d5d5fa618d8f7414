// The TCP sockets of this machine and of given processes, read from /proc (Linux): what the sandbox tests check to
// show that nothing listens after sandbox-down and that no sandbox process talks to a non-loopback address.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface TcpSocket {
  local: { address: string; port: number };
  remote: { address: string; port: number };
  listening: boolean;
  inode: number;
}

/** /proc/net/tcp's address: little-endian hex IPv4, or four little-endian 32-bit words of IPv6. */
function decodeAddress(hex: string): { address: string; port: number } {
  const [ip = '', port = ''] = hex.split(':');
  const words = ip.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => (w.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)));
  const byte = (i: number) => bytes[i] ?? Number.NaN;
  const address = bytes.length === 4 ? bytes.join('.') : Array.from({ length: 8 }, (_, i) => ((byte(2 * i) << 8) | byte(2 * i + 1)).toString(16)).join(':');
  return { address, port: parseInt(port, 16) };
}

export function tcpSockets(): TcpSocket[] {
  const sockets: TcpSocket[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.trim().split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const [, local = '', remote = '', state, , , , , , inode] = line.trim().split(/\s+/);
      sockets.push({ local: decodeAddress(local), remote: decodeAddress(remote), listening: state === '0A', inode: Number(inode) });
    }
  }
  return sockets;
}

/** True for 127.0.0.0/8, ::1 and the IPv4-mapped loopback ::ffff:127.x.y.z. */
export function isLoopback(address: string): boolean {
  if (/^127\./.test(address)) return true;
  const words = address.split(':').map((w) => parseInt(w, 16));
  if (words.length !== 8) return false;
  if (words.slice(0, 7).every((w) => w === 0) && words[7] === 1) return true;
  return words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff && (words[6] ?? 0) >> 8 === 127;
}

const isUnspecified = (address: string) => address === '0.0.0.0' || /^(0:){7}0$/.test(address);

/**
 * A socket that could reach or be reached from off this machine: a listener not bound to loopback (0.0.0.0 and :: are
 * off-machine too), or a connection with an end that is not loopback.
 */
export function leavesLoopback(socket: TcpSocket): boolean {
  if (socket.listening) return !isLoopback(socket.local.address);
  return !isLoopback(socket.local.address) || !(isLoopback(socket.remote.address) || (isUnspecified(socket.remote.address) && socket.remote.port === 0));
}

/** Socket inodes a process holds (its /proc/<pid>/fd links `socket:[inode]`). */
export function socketInodes(pid: number): Set<number> {
  const inodes = new Set<number>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(Number(m[1]));
    } catch {
      // the fd closed while being read
    }
  }
  return inodes;
}

/** Ports from `ports` on which some socket of this machine listens. */
export function listeningOn(ports: number[]): number[] {
  const listening = new Set(
    tcpSockets()
      .filter((s) => s.listening)
      .map((s) => s.local.port),
  );
  return ports.filter((p) => listening.has(p));
}
