// Every string of the emails, in English; email-messages-ko.ts has the same shape (the type
// checker says so). Plain text only: src/mail/account-emails.ts escapes each one for the HTML part.

/** "24 hours", "30 minutes". */
const lifetime = (minutes: number) =>
  minutes % 60 === 0 ? `${minutes / 60} ${minutes === 60 ? 'hour' : 'hours'}` : `${minutes} ${minutes === 1 ? 'minute' : 'minutes'}`;

export const emailEn = {
  greeting: (name: string | undefined) => (name ? `Hello ${name},` : 'Hello,'),
  buttonFallback: 'If the button does not work, copy this address into your browser:',
  signature: 'This message was sent automatically; replies are not read.',

  verifyEmail: {
    subject: 'Verify your email address',
    intro: (email: string) => `Confirm that ${email} is your email address by opening this link:`,
    action: 'Verify email address',
    expiry: (minutes: number) => `The link works once and expires in ${lifetime(minutes)}.`,
    notYou: 'If you did not create an account with this address, ignore this message.',
  },

  resetPassword: {
    subject: 'Reset your password',
    intro: (email: string) => `Someone asked to reset the password of the account ${email}. To choose a new password, open this link:`,
    action: 'Choose a new password',
    expiry: (minutes: number) => `The link works once and expires in ${lifetime(minutes)}.`,
    notYou: 'If you did not ask for this, ignore this message: your password stays as it is.',
  },

  changeEmail: {
    subject: 'Confirm your new email address',
    intro: (email: string) =>
      `Someone asked to use ${email} as the email address of their account. If that was you, confirm it by opening this link; until then the account keeps its old address.`,
    action: 'Confirm new address',
    expiry: (minutes: number) => `The link works once and expires in ${lifetime(minutes)}.`,
    notYou: 'If you did not ask for this, ignore this message: nothing changes.',
  },

  emailChanged: {
    subject: 'Your email address was changed',
    intro: (oldEmail: string, newEmail: string) =>
      `The email address of your account is now ${newEmail} instead of ${oldEmail}. Sign-in and messages use the new address from now on.`,
    notYou: 'If you did not make this change, someone else may be using your account: contact the people who run this service.',
  },
};

export type EmailMessages = typeof emailEn;
