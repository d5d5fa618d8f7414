// The local target passes the shared Target contract (test/targets/contract.ts).
import { LocalTarget } from '../../src/targets/local/index.ts';
import { targetContract } from '../targets/contract.ts';

targetContract('local', () => new LocalTarget({ scenario: 'bookinfo', seed: 1 }));
