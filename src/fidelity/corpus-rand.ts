// The seeded random source of the fidelity corpora (pure-rand xoroshiro128plus): the same seed draws the same sets.
import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';
import { must } from '../must.ts';

export class Rand {
  private readonly rng: RandomGenerator;
  constructor(seed: number) {
    this.rng = xoroshiro128plus(seed);
  }
  int(from: number, to: number): number {
    return unsafeUniformIntDistribution(from, to, this.rng);
  }
  chance(percent: number): boolean {
    return this.int(0, 99) < percent;
  }
  pick<T>(items: readonly T[]): T {
    return must(items[this.int(0, items.length - 1)], 'the picked item (of an empty list?)');
  }
  /** `n` distinct items, in the order of `items`. */
  some<T>(items: readonly T[], n: number): T[] {
    const chosen = new Set<number>();
    while (chosen.size < Math.min(n, items.length)) chosen.add(this.int(0, items.length - 1));
    return [...chosen].sort((a, b) => a - b).map((i) => must(items[i], `item ${i} of ${items.length}`));
  }
  /** A generator of its own, seeded by one draw of this one: what it draws does not shift this one's later draws. */
  fork(): Rand {
    return new Rand(this.int(0, 0x7fffffff));
  }
}
