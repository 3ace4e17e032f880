import { describe, expect, it } from 'vitest';
import { parseBasicAuth } from '../src/http/basic-auth.ts';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

describe('parseBasicAuth (RFC 7617, form-encoded parts per RFC 6749 §2.3.1)', () => {
  it('reads the scheme in any case (RFC 9110 §11.1)', () => {
    for (const scheme of ['Basic', 'basic', 'BASIC', 'bAsIc']) {
      expect(parseBasicAuth(`${scheme} ${b64('app:s3cret')}`), scheme).toEqual({ clientId: 'app', clientSecret: 's3cret' });
    }
  });

  it('form-decodes both parts: + is a space, %XX an octet, and a colon may only sit in the secret', () => {
    expect(parseBasicAuth(`Basic ${b64('my+app%3Av2:a%2Bb+c%3Ad')}`)).toEqual({ clientId: 'my app:v2', clientSecret: 'a+b c:d' });
    expect(parseBasicAuth(`Basic ${b64('app:with:colons')}`)).toEqual({ clientId: 'app', clientSecret: 'with:colons' });
  });

  it('accepts more than one space after the scheme (1*SP)', () => {
    expect(parseBasicAuth(`Basic   ${b64('app:x')}`)).toEqual({ clientId: 'app', clientSecret: 'x' });
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['another scheme', `Bearer ${b64('app:x')}`],
    ['a scheme that only starts like Basic', `Basically ${b64('app:x')}`],
    ['no credentials', 'Basic'],
    ['not base64', 'Basic not*base64'],
    ['no colon', `Basic ${b64('app')}`],
    ['an empty client id', `Basic ${b64(':secret')}`],
    ['a stray percent sign', `Basic ${b64('app%:x')}`],
    ['a control character in the client id', `Basic ${b64('ap%00p:x')}`],
    ['a non-ASCII secret', `Basic ${b64('app:pässword')}`],
  ])('refuses %s', (_name, header) => {
    expect(parseBasicAuth(header)).toBeUndefined();
  });
});
