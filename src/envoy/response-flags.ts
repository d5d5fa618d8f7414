// Envoy's response flags as the access log and Istio's `response_flags` label print them: short names joined by `,`
// in the order of Envoy's CoreResponseFlag enum, `-` when there is none (envoy source/common/stream_info/
// utility.cc ResponseFlagUtils::toShortString walks the flags in that order; envoy/stream_info/stream_info.h).

export const RESPONSE_FLAG_ORDER = [
  'LH',
  'UH',
  'UT',
  'LR',
  'UR',
  'UF',
  'UC',
  'UO',
  'NR',
  'DI',
  'FI',
  'RL',
  'UAEX',
  'RLSE',
  'DC',
  'URX',
  'SI',
  'IH',
  'DPE',
  'UMSDR',
  'RFCF',
  'NFCF',
  'DT',
  'UPE',
  'NC',
  'OM',
  'DF',
  'DO',
  'DR',
  'UDO',
] as const;

const rank = new Map<string, number>(RESPONSE_FLAG_ORDER.map((flag, i) => [flag, i]));

/** `-`, one flag, or several in Envoy's order without repeats (`DI,FI`, `UF,URX`). */
export function responseFlagsText(flags: readonly string[]): string {
  const [only, ...more] = flags;
  if (only === undefined) return '-';
  if (more.length === 0) return only;
  const ranked = [...new Set(flags)].map((flag) => {
    const order = rank.get(flag);
    if (order === undefined) throw new Error(`not an Envoy response flag: ${flag}`);
    return { flag, order };
  });
  return ranked
    .sort((a, b) => a.order - b.order)
    .map((r) => r.flag)
    .join(',');
}
