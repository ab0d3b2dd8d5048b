import { randomBytes } from 'node:crypto';

/**
 * What a PaymentMethod does when a provider charges it, by Stripe's own test cards
 * (docs.stripe.com/testing): the ModelsLab emulator asks this registry, as ModelsLab asks Stripe.
 */
export type CardBehaviour =
  { kind: 'succeeds' } | { kind: 'declines'; declineCode: string } | { kind: 'requires_action' };

export interface StoredCard {
  id: string;
  brand: string;
  last4: string;
  exp_month: number;
  exp_year: number;
  behaviour: CardBehaviour;
}

const BY_NUMBER: Record<string, CardBehaviour> = {
  '4242424242424242': { kind: 'succeeds' },
  '5555555555554444': { kind: 'succeeds' },
  '4000000000000002': { kind: 'declines', declineCode: 'generic_decline' },
  '4000000000009995': { kind: 'declines', declineCode: 'insufficient_funds' },
  '4000000000000069': { kind: 'declines', declineCode: 'expired_card' },
  '4000002760003184': { kind: 'requires_action' },
  '4000002500003155': { kind: 'requires_action' },
};

/** Stripe's ready-made test PaymentMethods, usable without tokenizing a number. */
const MAGIC: Record<string, Omit<StoredCard, 'id'>> = {
  pm_card_visa: {
    brand: 'visa',
    last4: '4242',
    exp_month: 12,
    exp_year: 2034,
    behaviour: { kind: 'succeeds' },
  },
  pm_card_mastercard: {
    brand: 'mastercard',
    last4: '4444',
    exp_month: 12,
    exp_year: 2034,
    behaviour: { kind: 'succeeds' },
  },
  pm_card_chargeDeclined: {
    brand: 'visa',
    last4: '0002',
    exp_month: 12,
    exp_year: 2034,
    behaviour: { kind: 'declines', declineCode: 'generic_decline' },
  },
  pm_card_chargeDeclinedInsufficientFunds: {
    brand: 'visa',
    last4: '9995',
    exp_month: 12,
    exp_year: 2034,
    behaviour: { kind: 'declines', declineCode: 'insufficient_funds' },
  },
  pm_card_authenticationRequired: {
    brand: 'visa',
    last4: '3184',
    exp_month: 12,
    exp_year: 2034,
    behaviour: { kind: 'requires_action' },
  },
};

export function brandOf(number: string): string {
  if (/^4/.test(number)) return 'visa';
  if (/^(5[1-5]|2[2-7])/.test(number)) return 'mastercard';
  if (/^3[47]/.test(number)) return 'amex';
  if (/^6(011|5)/.test(number)) return 'discover';
  return 'unknown';
}

export function luhnValid(number: string): boolean {
  if (!/^\d{12,19}$/.test(number)) return false;
  let sum = 0;
  for (let i = 0; i < number.length; i++) {
    let d = Number(number[number.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

/** The cards Stripe holds. Only the last four digits are kept, as Stripe shows them. */
export class CardRegistry {
  private readonly cards = new Map<string, StoredCard>();

  add(number: string, exp_month: number, exp_year: number): StoredCard {
    const card: StoredCard = {
      id: `pm_1${randomBytes(12).toString('hex')}`,
      brand: brandOf(number),
      last4: number.slice(-4),
      exp_month,
      exp_year,
      behaviour: BY_NUMBER[number] ?? { kind: 'succeeds' },
    };
    this.cards.set(card.id, card);
    return card;
  }

  get(id: string): StoredCard | undefined {
    const magic = MAGIC[id];
    return magic ? { id, ...magic } : this.cards.get(id);
  }
}
