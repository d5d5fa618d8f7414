// "Did you mean": the likely intended word for a typo, shared by experiment and Istio resource readers.
import { distance } from 'fastest-levenshtein';

/** The closest of `candidates` to `word`, when it is close enough to be a likely typo. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.floor(word.length / 3));
  return bestDistance <= limit ? best : undefined;
}
