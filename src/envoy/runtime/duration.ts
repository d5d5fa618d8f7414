// google.protobuf.Duration in proto3 JSON ("1.5s", "0.250s", "-1s") → milliseconds.
import type { Duration } from '../model/index.ts';

const DURATION = /^(-?)(\d+)(?:\.(\d{1,9}))?s$/;

export function durationMs(value: Duration, field = 'duration'): number {
  const m = DURATION.exec(value);
  if (!m) throw new Error(`${field}: "${value}" is not a protobuf Duration such as "1.5s"`);
  const ms = Number(m[2]) * 1000 + Number((m[3] ?? '').padEnd(9, '0')) / 1e6;
  return m[1] ? -ms : ms;
}
