import { html } from '../http/html.ts';
import type { Messages } from './messages-en.ts';

// 한국어: the same shape as messages-en.ts (the type checker says so), in the polite 합쇼체.
export const ko: Messages = {
  languageName: '한국어',
  languageSwitcher: '언어',
  siteName: 'Gatehouse',

  login: {
    title: '로그인',
    continueTo: (client) => html`<strong>${client}</strong>(으)로 계속하려면 로그인하세요`,
    email: '이메일',
    password: '비밀번호',
    submit: '로그인',
    cancel: '취소',
    failed: '이메일 또는 비밀번호가 올바르지 않습니다.',
    throttled: (seconds) => `시도 횟수가 너무 많습니다. ${seconds}초 후에 다시 시도하세요.`,
    busy: '지금은 요청이 많아 비밀번호를 확인하지 못했습니다. 잠시 후 다시 시도하세요.',
    newHere: '처음이신가요?',
    createAccount: '계정 만들기',
    upstreamHeading: '다른 계정으로 로그인',
    upstreamButton: (provider) => `${provider}(으)로 계속하기`,
  },

  signup: {
    title: '계정 만들기',
    continueTo: (client) => html`<strong>${client}</strong>(으)로 계속하려면 계정을 만드세요`,
    name: '이름',
    optional: '(선택)',
    email: '이메일',
    password: '비밀번호',
    passwordHint: '8자 이상. 서로 관계없는 단어 몇 개로 된 문구는 기억하기 쉽고 추측하기 어렵습니다.',
    submit: '계정 만들기',
    haveAccount: '이미 계정이 있으신가요?',
    signIn: '로그인',
    problems: {
      invalid_email: '올바른 이메일 주소를 입력하세요. 예: name@example.com',
      weak_password: '비밀번호는 8자 이상이어야 합니다.',
      invalid_password: '비밀번호는 1024자 이하여야 합니다.',
      common_password: '너무 흔히 쓰이는 비밀번호라 추측하기 쉽습니다. 다른 비밀번호를 고르세요.',
      invalid_name: '이름은 200자 이하로 입력하세요.',
      conflict: '입력하신 정보로 계정을 만들 수 없습니다. 이미 계정이 있다면 로그인하세요.',
    },
  },

  upstream: {
    backToSignIn: '로그인으로 돌아가기',
    cancelledTitle: '로그인이 취소되었습니다',
    cancelledMessage: (provider) => `${provider}에서 로그인하지 않았습니다(요청이 취소되었거나 거부되었습니다). 다시 시도하거나 다른 방법으로 로그인하세요.`,
    failedTitle: '로그인할 수 없습니다',
    failedMessage: (provider) => `${provider}의 응답을 받아들일 수 없습니다. 로그인을 다시 시작하세요.`,
    unavailableMessage: (provider) => `${provider}에 연결할 수 없습니다. 잠시 후 다시 시도하거나 다른 방법으로 로그인하세요.`,
    expiredMessage: '이 로그인 링크는 더 이상 유효하지 않습니다. 애플리케이션으로 돌아가 로그인을 다시 시작하세요.',
    emailInUseTitle: '이 이메일로 만든 계정이 이미 있습니다',
    emailInUseMessage: (provider) =>
      `${provider}에서 받은 이메일 주소로 만든 계정이 이미 있지만, ${provider}이(가) 이 주소가 본인의 것임을 확인하지 않았습니다. 전에 로그인하던 방법(비밀번호 또는 사용하던 서비스)으로 로그인하세요.`,
    noEmailTitle: '이메일 주소가 필요합니다',
    noEmailMessage: (provider) => `${provider}에서 이메일 주소를 제공하지 않았습니다. 새 계정에는 이메일 주소가 필요합니다. ${provider}에서 이메일 제공에 동의하거나 다른 방법으로 로그인하세요.`,
  },

  consent: {
    title: '접근 허용',
    heading: (client) => html`<strong>${client}</strong>의 접근을 허용하시겠습니까?`,
    signedInAs: (email) => `${email} 계정으로 로그인됨`,
    asks: (client) => `${client}에서 다음 권한을 요청합니다:`,
    remembered: '허용하시면 이 애플리케이션이 같은 권한을 다시 묻지 않습니다.',
    allow: '허용',
    deny: '거부',
  },

  scopes: {
    standard: {
      openid: '회원님이 누구인지 확인 (계정 식별자)',
      profile: '이름 보기',
      email: '이메일 주소 보기',
      offline_access: '회원님이 자리에 없을 때도 연결 유지 (다시 묻지 않고 접근 권한을 갱신할 수 있음)',
    },
    api: (scope, resource) => `${resource}에서 “${scope}” 권한 사용`,
    apiDetail: '이 앱이 회원님을 대신해 호출하는 API',
  },

  logout: {
    title: '로그아웃',
    heading: (host) => `${host}에서 로그아웃하시겠습니까?`,
    yes: '예, 로그아웃합니다',
    no: '아니요, 로그인 상태를 유지합니다',
  },

  signedOut: {
    title: '로그아웃됨',
    heading: '로그아웃되었습니다',
    fromClient: (client) => `${client}에서 로그아웃했습니다.`,
    fromAll: '로그아웃했습니다.',
    closePage: '이 페이지를 닫아도 됩니다.',
  },

  device: {
    enterTitle: '기기 연결',
    enterIntro: '기기나 터미널에 표시된 코드를 입력하세요.',
    codeLabel: '코드',
    codeHint: 'BCDF-GHJK 같은 여덟 글자입니다. 대시와 대소문자는 상관없습니다.',
    continue: '계속',
    wrongCode: '코드가 올바르지 않거나 만료되었습니다. 기기에 표시된 코드를 확인하고 다시 입력하세요.',
    interrupted: '요청이 취소되었습니다. 기기에서 다시 시작해 새 코드를 받으세요.',
    failed: '요청을 완료하지 못했습니다. 기기에서 다시 시작해 새 코드를 받으세요.',
    throttled: (seconds) => `코드를 너무 많이 입력했습니다. ${seconds}초 후에 다시 시도하세요.`,
    confirmTitle: '기기 확인',
    confirmHeading: (client) => html`<strong>${client}</strong>을(를) 연결하시겠습니까?`,
    confirmCode: '기기에 다음 코드가 표시되어 있어야 합니다:',
    confirmWarning: '지금 눈앞에 있는 기기에서 직접 시작했고 같은 코드가 표시될 때만 계속하세요. 다른 사람이 이 코드를 보냈다면 취소하세요.',
    confirm: '계속',
    abort: '취소',
    doneTitle: '기기 연결됨',
    doneHeading: '기기가 연결되었습니다',
    doneClient: (client) => `${client}에 로그인했습니다.`,
    doneAny: '로그인했습니다.',
    doneClose: '이 페이지를 닫고 기기로 돌아가세요.',
  },

  errors: {
    throttledTitle: '시도 횟수가 너무 많습니다',
    busyTitle: '요청이 많습니다',
    busyMessage: '지금은 요청이 많습니다. 잠시 후 다시 시도하세요.',
    codeLabel: '오류',
    referenceLabel: '참조 번호',
    expiredTitle: '로그인 시간이 만료되었습니다',
    expiredMessage: '이 페이지는 더 이상 유효하지 않습니다. 애플리케이션으로 돌아가 로그인을 다시 시작하세요.',
    requestRefusedTitle: '로그인 요청을 처리할 수 없습니다',
    requestRefusedMessage: '애플리케이션이 처리할 수 없는 요청을 보냈습니다. 애플리케이션으로 돌아가 다시 시도하세요.',
    notAcceptedTitle: '요청을 처리할 수 없습니다',
    notAcceptedMessage: '요청을 처리할 수 없습니다. 이전 페이지로 돌아가 다시 시도하세요.',
    serverErrorTitle: '오류',
    serverErrorMessage: '서버에 문제가 발생했습니다.',
    notFoundTitle: '페이지를 찾을 수 없습니다',
    notFoundMessage: '이 주소에는 아무것도 없습니다.',
  },
};
