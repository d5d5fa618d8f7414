// The real modules behind the runner's dependencies.
import { createDriver } from '../load/index.ts';
import { resolveRequests } from '../load/requests.ts';
import { Observation } from '../observe/observation.ts';
import { resolveClassifiers } from '../observe/classifiers.ts';
import type { Classifier } from '../observe/types.ts';
import { allConclusive, judgeAll } from '../assertions/index.ts';
import type { Experiment } from '../spec/types.ts';
import type { RunnerDeps } from './run.ts';

/** Labels each response with the name of the request that produced it (`request: jason`). */
function requestNameClassifier(experiment: Experiment): Classifier {
  const names = experiment.load.requests.map((r) => r.name);
  return (response) => ({ request: names[response.requestIndex] ?? `r${response.requestIndex}` });
}

export const defaultDeps: RunnerDeps = {
  createDriver: (name) => createDriver(name as 'autocannon' | 'k6'),
  newObservation: (experiment) =>
    new Observation({
      // The request name is known at the client whichever driver ran the request (k6 labels responses itself).
      requestClassifiers: [requestNameClassifier(experiment)],
      classifiers: resolveClassifiers(experiment.load.classifiers),
      warmupMs: experiment.load.warmupMs,
    }),
  resolveRequests,
  judgeAll,
  allConclusive,
};
