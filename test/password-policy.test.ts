import { describe, expect, it } from 'vitest';
import { passwordProblem } from '../src/accounts/password-policy.ts';

describe('password policy', () => {
  it('refuses fewer than 8 characters and accepts 8', () => {
    expect(passwordProblem('v9#kQ2x')).toBe('too_short');
    expect(passwordProblem('v9#kQ2xz')).toBeUndefined();
  });

  it('counts characters, not UTF-16 units: an 8-syllable Korean passphrase is long enough', () => {
    expect(passwordProblem('햇살가득한봄날아침')).toBeUndefined();
    expect(passwordProblem('햇살가득한봄')).toBe('too_short');
    expect(passwordProblem('😀😀😀😀')).toBe('too_short'); // 8 UTF-16 units, 4 characters
  });

  it('allows long passphrases up to 1024 characters', () => {
    expect(passwordProblem('correct horse battery staple '.repeat(35).slice(0, 1024))).toBeUndefined();
    expect(passwordProblem('x'.repeat(1025))).toBe('too_long');
  });

  it('refuses the most common passwords from the bundled list, whatever their case', () => {
    for (const common of ['password', '12345678', 'iloveyou', 'Sunshine', 'QWERTYUIOP', 'trustno1']) {
      expect(passwordProblem(common), common).toBe('too_common');
    }
  });

  it('does not treat the list header as passwords', () => {
    expect(passwordProblem("# Lines starting with # are comments. zxcvbn's licence:")).toBeUndefined();
  });
});
