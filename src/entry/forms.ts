import type { CardInput } from '../providers/stripe.js';
import type { Field } from './page.js';
import { PageInputError } from './server.js';

// The fields of each page, with the autocomplete tokens browsers and password managers fill, and the reading of
// what was typed. The server checks again what the browser already checked (pattern, length).

export const CARD_FIELDS: readonly Field[] = [
  {
    name: 'cardnumber',
    label: 'Card number',
    type: 'text',
    autocomplete: 'cc-number',
    inputmode: 'numeric',
    placeholder: '1234 1234 1234 1234',
    maxlength: 23,
    pattern: '[0-9 \\-]{12,23}',
    secret: true,
    card: true,
  },
  {
    name: 'exp',
    label: 'Expiry (MM / YY)',
    type: 'text',
    autocomplete: 'cc-exp',
    inputmode: 'numeric',
    placeholder: 'MM / YY',
    maxlength: 9,
    secret: false,
  },
  {
    name: 'cvc',
    label: 'Security code (CVC)',
    type: 'text',
    autocomplete: 'cc-csc',
    inputmode: 'numeric',
    placeholder: '123',
    maxlength: 4,
    pattern: '[0-9]{3,4}',
    secret: true,
  },
];

/** The card as typed: spaces and dashes in the number, the expiry as MM/YY, MM/YYYY, MM-YY or "MM / YY". */
export function readCard(values: Record<string, string>): CardInput {
  const number = (values.cardnumber ?? '').replace(/[\s-]/g, '');
  if (!/^\d{12,19}$/.test(number)) throw new PageInputError('The card number should be 12 to 19 digits.');
  const exp = /^\s*(\d{1,2})\s*[/.\- ]\s*(\d{2}|\d{4})\s*$/.exec(values.exp ?? '');
  const month = Number(exp?.[1]);
  if (!exp || month < 1 || month > 12) throw new PageInputError('Write the expiry as MM / YY, e.g. 04 / 29.');
  const year = Number(exp[2]);
  const cvc = (values.cvc ?? '').trim();
  if (!/^\d{3,4}$/.test(cvc)) throw new PageInputError('The security code is the 3 or 4 digits on the card.');
  return { number, exp_month: month, exp_year: year < 100 ? 2000 + year : year, cvc };
}

export const emailField = (value: string | undefined): Field => ({
  name: 'email',
  label: 'Email',
  type: 'email',
  autocomplete: 'email',
  inputmode: 'email',
  maxlength: 254,
  secret: false,
  value,
});

export const CURRENT_PASSWORD: Field = {
  name: 'password',
  label: 'Password',
  type: 'password',
  autocomplete: 'current-password',
  maxlength: 200,
  secret: true,
};

export const NEW_PASSWORD_FIELDS: readonly Field[] = [
  {
    name: 'password',
    label: 'Password',
    type: 'password',
    autocomplete: 'new-password',
    minlength: 8,
    maxlength: 200,
    secret: true,
    hint: 'At least 8 characters.',
  },
  {
    name: 'password_repeat',
    label: 'The same password again',
    type: 'password',
    autocomplete: 'new-password',
    minlength: 8,
    maxlength: 200,
    secret: true,
  },
];

/** The new password, once both fields agree. */
export function readNewPassword(values: Record<string, string>): string {
  const password = values.password ?? '';
  if (password.length < 8) throw new PageInputError('The password needs at least 8 characters.');
  if (password !== values.password_repeat)
    throw new PageInputError('The two passwords differ; type them again.');
  return password;
}

/** A provider API key: a password field so it is not shown, and not offered to a password manager to fill. */
export const apiKeyField = (label: string, placeholder?: string): Field => ({
  name: 'api_key',
  label,
  type: 'password',
  autocomplete: 'off',
  placeholder,
  maxlength: 200,
  secret: true,
});
