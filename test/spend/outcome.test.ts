import { describe, expect, it } from 'vitest';
import { NetworkError, OutcomeUnknownError, ProviderError } from '../../src/errors.js';
import { failureClass, isUnknownOutcome, nothingSent, type FailureClass } from '../../src/spend/outcome.js';

const answer = (status: number | undefined, code?: string) =>
  new ProviderError({ provider: 'modelslab', status, code, message: `HTTP ${status}` });
const network = (code?: string) =>
  new NetworkError(
    'modelslab',
    'x',
    code === undefined ? {} : { cause: Object.assign(new Error(code), { code }) },
  );

describe('failure classes at their edges', () => {
  it.each<[string, unknown, FailureClass]>([
    ['a 2xx cut off at the size limit', answer(200, 'response_too_large'), 'unknown'],
    ['a 2xx that is not what was expected', answer(201, 'unexpected_response'), 'unknown'],
    ['a 2xx refusal with no code', answer(200), 'refused'],
    ['a 299 refusal', answer(299, 'error'), 'refused'],
    ['a 300', answer(300), 'unknown'],
    ['a 399', answer(399), 'unknown'],
    ['a 400', answer(400), 'refused'],
    ['a 499', answer(499), 'refused'],
    ['a 500', answer(500), 'unknown'],
    ['a 407', answer(407), 'refused'],
    ['a 409', answer(409), 'refused'],
    ['an unknown host', network('ENOTFOUND'), 'not sent'],
    ['a DNS failure', network('EAI_AGAIN'), 'not sent'],
    ['a refused connection', network('ECONNREFUSED'), 'not sent'],
    ['a timeout after connecting', network('ETIMEDOUT'), 'unknown'],
    ['a network error with no cause', network(), 'unknown'],
    ['a thrown string', 'boom', 'unknown'],
    ['a thrown undefined', undefined, 'unknown'],
    [
      'an unknown outcome marked as before the payment',
      nothingSent(new OutcomeUnknownError('x')),
      'not sent',
    ],
  ])('%s is %s', (_, error, expected) => {
    expect(failureClass(error)).toBe(expected);
    expect(isUnknownOutcome(error)).toBe(expected === 'unknown');
  });

  it('marking something that is not an Error changes nothing', () => {
    const thrown = { message: 'not an Error' };
    expect(nothingSent(thrown)).toBe(thrown);
    expect(Object.getOwnPropertySymbols(thrown)).toEqual([]);
    expect(failureClass(thrown)).toBe('unknown');
    const error = new Error('x');
    expect(nothingSent(error)).toBe(error);
  });
});
