import { html } from '../../views/html.ts';

// Every string the pages show, in English. messages-ko.ts has the same shape (the type checker
// says so). Functions take user- or client-supplied text and escape it through `html`.
export const en = {
  languageName: 'English',
  languageSwitcher: 'Language',
  siteName: 'Gatehouse',

  login: {
    title: 'Sign in',
    continueTo: (client: string) => html`to continue to <strong>${client}</strong>`,
    email: 'Email',
    password: 'Password',
    submit: 'Sign in',
    cancel: 'Cancel',
    failed: 'Email or password is incorrect.',
    throttled: (seconds: number) => `Too many attempts. Try again in ${seconds} ${seconds === 1 ? 'second' : 'seconds'}.`,
    busy: 'Gatehouse is busy right now and could not check your password. Try again in a moment.',
    newHere: 'New here?',
    createAccount: 'Create an account',
    upstreamHeading: 'Or sign in with',
    upstreamButton: (provider: string) => `Continue with ${provider}`,
    forgotPassword: 'Forgot your password?',
  },

  signup: {
    title: 'Create an account',
    continueTo: (client: string) => html`to continue to <strong>${client}</strong>`,
    name: 'Name',
    optional: '(optional)',
    email: 'Email',
    password: 'Password',
    passwordHint: 'At least 8 characters. A phrase of a few unrelated words is easy to remember and hard to guess.',
    submit: 'Create account',
    haveAccount: 'Already have an account?',
    signIn: 'Sign in',
    problems: {
      invalid_email: 'Enter a valid email address, like name@example.com.',
      weak_password: 'Use a password of at least 8 characters.',
      invalid_password: 'Use a password of at most 1024 characters.',
      common_password: 'That password is one of the most commonly used, so it is easy to guess. Choose another.',
      invalid_name: 'Enter a name of at most 200 characters.',
      // The same words whatever the reason the address cannot be used (see signup-routes.ts).
      conflict: 'We could not create an account with these details. If you already have an account, sign in instead.',
    },
  },

  // The accounts issue's pages: "Forgot password?", the links mailed to users, and the
  // "check your inbox" stop of EMAIL_VERIFICATION=required.
  forgotPassword: {
    title: 'Reset your password',
    intro: 'Enter the email address of your account. We will send a link to it for choosing a new password.',
    email: 'Email',
    submit: 'Send the link',
    backToSignIn: 'Back to sign in',
    sentTitle: 'Check your inbox',
    // The same words for every address (no account enumeration).
    sent: (email: string) => `If an account uses ${email}, a message with a link is on its way to it. The link works once, for 30 minutes.`,
    notArrived: 'Nothing after a few minutes? Check your spam folder, or ask again.',
    invalidEmail: 'Enter a valid email address, like name@example.com.',
  },

  resetPassword: {
    title: 'Choose a new password',
    forAccount: (email: string) => `For the account ${email}.`,
    password: 'New password',
    submit: 'Set the new password',
    doneTitle: 'Password changed',
    done: 'Your password has been changed, and every other session of your account has been signed out. Sign in with your new password.',
    invalidTitle: 'This link cannot be used',
    invalid:
      'This link is no longer valid: it has been used, it has expired, or a newer one was sent. On the sign-in page, choose “Forgot your password?” to get a new one.',
  },

  verifyEmail: {
    title: 'Verify your email address',
    confirm: (email: string) => `Confirm that ${email} is your email address.`,
    submit: 'Verify email address',
    doneTitle: 'Email address verified',
    done: (email: string) => `${email} is verified. You can close this page and continue where you were signing in.`,
    invalidTitle: 'This link cannot be used',
    invalid:
      'This link is no longer valid: it has been used, it has expired, a newer one was sent, or the account’s address has changed. Sign in to ask for a new one.',
    taken: 'This address has already been verified by another account.',
  },

  verifyPending: {
    title: 'Check your inbox',
    required: 'Your email address needs to be verified before you can sign in.',
    sentTo: (email: string) => `We sent a link to ${email}. Open it to verify your address, then continue here.`,
    continue: 'Continue',
    resend: 'Send a new link',
    resent: (email: string) => `A new link is on its way to ${email}. Older links no longer work.`,
    notYet: 'Your address is not verified yet. Open the link in the message we sent, then continue.',
    otherAccount: 'Sign in with another account',
  },

  accountDisabled: {
    title: 'Account disabled',
    message: 'This account has been disabled, so it cannot sign in. If you think this is a mistake, contact the people who run this service.',
  },

  upstream: {
    backToSignIn: 'Back to sign in',
    cancelledTitle: 'Sign-in cancelled',
    cancelledMessage: (provider: string) => `${provider} did not sign you in (the request was cancelled or refused). You can try again or sign in another way.`,
    failedTitle: 'Could not sign you in',
    failedMessage: (provider: string) => `The answer from ${provider} could not be accepted. Start signing in again.`,
    unavailableMessage: (provider: string) => `${provider} could not be reached. Try again in a moment or sign in another way.`,
    expiredMessage: 'This sign-in link is no longer valid. Go back to the application and start signing in again.',
    emailInUseTitle: 'This email already has an account',
    emailInUseMessage: (provider: string) =>
      `An account with the email address from ${provider} already exists, and ${provider} has not confirmed that the address is yours. Sign in the way you did before (with your password, or with the provider you used).`,
    noEmailTitle: 'An email address is needed',
    noEmailMessage: (provider: string) =>
      `${provider} did not share your email address, which a new account needs. Allow it at ${provider}, or sign in another way.`,
  },

  consent: {
    title: 'Allow access',
    heading: (client: string) => html`Allow <strong>${client}</strong> access?`,
    signedInAs: (email: string) => `Signed in as ${email}`,
    asks: (client: string) => `${client} is asking to:`,
    remembered: 'You will not be asked again for these permissions by this application.',
    allow: 'Allow',
    deny: 'Deny',
  },

  scopes: {
    // The standard scopes (src/clients/standard-scopes.ts) in plain words.
    standard: {
      openid: 'Know who you are (your account identifier)',
      profile: 'See your name',
      email: 'See your email address',
      offline_access: 'Stay connected while you are away (it can refresh its access without asking you again)',
    },
    api: (scope: string, resource: string) => `Use “${scope}” on ${resource}`,
    apiDetail: 'an API this app calls for you',
  },

  logout: {
    title: 'Sign out',
    heading: (host: string) => `Sign out of ${host}?`,
    yes: 'Yes, sign me out',
    no: 'No, stay signed in',
  },

  signedOut: {
    title: 'Signed out',
    heading: 'You are signed out',
    fromClient: (client: string) => `You have signed out of ${client}.`,
    fromAll: 'You have signed out.',
    closePage: 'You can close this page.',
  },

  device: {
    enterTitle: 'Connect a device',
    enterIntro: 'Enter the code shown on your device or in your terminal.',
    codeLabel: 'Code',
    codeHint: 'Eight letters, like BCDF-GHJK. Dashes and capitals do not matter.',
    continue: 'Continue',
    wrongCode: 'That code is not valid or has expired. Check the code on your device and try again.',
    interrupted: 'The request was cancelled. Start again on your device to get a new code.',
    failed: 'The request could not be completed. Start again on your device to get a new code.',
    throttled: (seconds: number) => `Too many codes entered. Try again in ${seconds} ${seconds === 1 ? 'second' : 'seconds'}.`,
    confirmTitle: 'Confirm the device',
    confirmHeading: (client: string) => html`Connect <strong>${client}</strong>?`,
    confirmCode: 'Your device should show this code:',
    confirmWarning: 'Continue only if you started this on a device you have in front of you and it shows the same code. If someone sent you this code, cancel.',
    confirm: 'Continue',
    abort: 'Cancel',
    doneTitle: 'Device connected',
    doneHeading: 'Your device is connected',
    doneClient: (client: string) => `You have signed in to ${client}.`,
    doneAny: 'You have signed in.',
    doneClose: 'You can close this page and go back to your device.',
  },

  // The signed-in person's own page (/account) and the link that confirms a new address.
  account: {
    title: 'Your account',
    signedInAs: (email: string) => `Signed in as ${email}`,
    contents: 'On this page',
    recentNeeded: 'For your safety, confirm it is you before changing this: sign in again, then come back here.',
    recentButton: 'Confirm it is you',
    recentRefused: 'For your safety, this change needs a recent sign-in. Confirm it is you, then try again.',
    wrongPassword: 'That password is not right.',
    throttled: (seconds: number) => `Too many attempts. Try again in ${seconds} ${seconds === 1 ? 'second' : 'seconds'}.`,
    profile: { heading: 'Profile', name: 'Name', save: 'Save' },
    email: {
      heading: 'Email address',
      none: 'Your account has no email address.',
      verified: 'Verified',
      unverified: 'Not verified',
      sendVerification: 'Send a verification link',
      newEmail: 'New email address',
      change: 'Send a confirmation link',
      changeHint: 'The new address takes effect once you open the link we send to it. Then we let your current address know.',
      pending: (email: string) => `A change to ${email} is waiting: open the link we sent to that address.`,
      same: 'That is already your email address.',
    },
    password: {
      heading: 'Password',
      current: 'Current password',
      next: 'New password',
      change: 'Change password',
      changeHint: 'After the change every session is signed out, this one too, and apps must sign you in again.',
      none: 'Your account has no password yet: you sign in with another service.',
      set: 'Set a password',
      needsVerified: 'To add a password, first verify your email address: a password signs you in with it.',
    },
    identities: {
      heading: 'Other ways to sign in',
      none: 'You do not sign in with another service.',
      lastUsed: (date: string) => `last used ${date}`,
      unlink: (provider: string) => `Unlink ${provider}`,
      lastWayIn: 'This is your only way to sign in, so it cannot be unlinked. Set a password or link another service first.',
    },
    sessions: {
      heading: 'Where you are signed in',
      thisBrowser: 'This browser',
      /** "Firefox on Linux", from what the browser said of itself when it last used the session. */
      device: (browser: string | undefined, system: string | undefined) =>
        browser && system ? `${browser} on ${system}` : (browser ?? (system ? `A browser on ${system}` : 'A browser')),
      lastUsed: (date: string) => `Last used ${date}`,
      signedIn: (date: string) => `signed in ${date}`,
      apps: (names: string) => `Apps: ${names}`,
      signOut: 'Sign out',
      signOutThis: 'Sign out of this browser',
      signOutAll: 'Sign out everywhere',
      signOutAllHint: 'Ends every session, this one too, and takes back the refresh tokens of every app.',
    },
    apps: {
      heading: 'Apps with access',
      none: 'No app has access to your account.',
      revoke: (name: string) => `Remove access for ${name}`,
      revokeHint: 'It loses its access at once. If you sign in there again, it asks for your permission again.',
    },
    delete: {
      heading: 'Delete your account',
      warning: 'This deletes your account and everything held about it: sessions, apps’ access, other ways to sign in. It cannot be undone.',
      password: 'Password',
      submit: 'Delete my account',
    },
    done: {
      name_saved: 'Your name has been saved.',
      verification_sent: 'A verification link is on its way to your address. Older links no longer work.',
      email_link_sent: 'We sent a link to your new address. Your email address changes when you open it.',
      password_set: 'Your password has been set.',
      identity_unlinked: 'The service has been unlinked.',
      session_ended: 'That browser has been signed out.',
      app_revoked: 'The app no longer has access to your account.',
    },
    signedOutTitle: 'Signed out',
    signedOut: 'You have been signed out.',
    signedOutEverywhere: 'You have been signed out everywhere: every session has ended and every app must sign you in again.',
    passwordChangedTitle: 'Password changed',
    passwordChanged: 'Your password has been changed and every session has been signed out, this one too. Sign in with your new password.',
    deletedTitle: 'Account deleted',
    deleted: 'Your account and everything held about it have been deleted.',
    signIn: 'Sign in to your account',
    cancelledTitle: 'Not signed in',
    cancelled: 'You did not sign in, so your account page cannot be shown.',
    failedTitle: 'Could not sign you in',
    failed: 'This sign-in could not be completed (it may have been started in another tab). Try again.',
    formRefused: 'For your safety, this form is accepted only from your account page. Open the page again and try once more.',
  },

  confirmEmail: {
    title: 'Confirm your new email address',
    confirm: (email: string) => `Make ${email} the email address of your account.`,
    submit: 'Confirm new address',
    doneTitle: 'Email address changed',
    done: (email: string) => `The email address of your account is now ${email}. Sign in with it from now on.`,
    invalidTitle: 'This link cannot be used',
    invalid:
      'This link is no longer valid: it has been used, it has expired, a newer one was sent, or the account’s address has changed since. Ask for a new one on your account page.',
    taken: 'This address is already used by another account, so it cannot become yours.',
  },

  errors: {
    throttledTitle: 'Too many attempts',
    busyTitle: 'Busy right now',
    busyMessage: 'Gatehouse is busy right now. Try again in a moment.',
    codeLabel: 'Error',
    referenceLabel: 'Reference',
    expiredTitle: 'This sign-in has expired',
    expiredMessage: 'This page is no longer valid. Go back to the application and start signing in again.',
    requestRefusedTitle: 'Sign-in request not accepted',
    requestRefusedMessage: 'The application sent a request that cannot be processed. Go back to it and try again.',
    notAcceptedTitle: 'Request not accepted',
    notAcceptedMessage: 'The request could not be processed.',
    serverErrorTitle: 'Error',
    serverErrorMessage: 'Something went wrong on our side.',
    notFoundTitle: 'Page not found',
    notFoundMessage: 'There is nothing at this address.',
    formRefusedTitle: 'Form not accepted',
    formRefusedMessage: 'For your safety, this form is accepted only from the page we showed you. Go back to the sign-in page and try again.',
    formRefusedLink: 'Back to the sign-in page',
  },
};

export type Messages = typeof en;
