// Seeded draws for calibration tests and benchmarks: counts are simulated directly, never through HTTP.
import prand from 'pure-rand';

export interface SeededRandom {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Successes in `trials` independent Bernoulli(p) trials. */
  binomial(trials: number, p: number): number;
  /** Category counts of `trials` draws with probabilities `probs` (summing to 1). */
  multinomial(trials: number, probs: number[]): number[];
}

export function seededRandom(seed: number): SeededRandom {
  const rng = prand.xoroshiro128plus(seed);
  const uniform = () => (prand.unsafeUniformIntDistribution(0, 0x3fffffff, rng) + 0.5) / 0x40000000;
  const binomial = (trials: number, p: number) => {
    let k = 0;
    for (let i = 0; i < trials; i++) if (uniform() < p) k++;
    return k;
  };
  const multinomial = (trials: number, probs: number[]) => {
    const counts = probs.map(() => 0);
    for (let i = 0; i < trials; i++) {
      let u = uniform();
      let j = 0;
      while (j < probs.length - 1 && u >= probs[j]) u -= probs[j++];
      counts[j]++;
    }
    return counts;
  };
  return { uniform, binomial, multinomial };
}
