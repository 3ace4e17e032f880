import type { EmailMessages } from './email-messages-en.ts';

// 한국어: the same shape as email-messages-en.ts (the type checker says so), in the polite 합쇼체.

/** "24시간", "30분". */
const lifetime = (minutes: number) => (minutes % 60 === 0 ? `${minutes / 60}시간` : `${minutes}분`);

export const emailKo: EmailMessages = {
  greeting: (name) => (name ? `${name}님, 안녕하세요.` : '안녕하세요.'),
  buttonFallback: '버튼이 작동하지 않으면 아래 주소를 복사해 브라우저에 붙여 넣으세요.',
  signature: '이 메일은 자동으로 발송되었습니다. 회신은 확인하지 않습니다.',

  verifyEmail: {
    subject: '이메일 주소를 확인해 주세요',
    intro: (email) => `아래 링크를 열어 ${email}이(가) 본인의 이메일 주소임을 확인해 주세요.`,
    action: '이메일 주소 확인',
    expiry: (minutes) => `이 링크는 한 번만 사용할 수 있으며 ${lifetime(minutes)} 후에 만료됩니다.`,
    notYou: '이 주소로 계정을 만든 적이 없다면 이 메일을 무시하세요.',
  },

  resetPassword: {
    subject: '비밀번호를 재설정하세요',
    intro: (email) => `${email} 계정의 비밀번호 재설정이 요청되었습니다. 새 비밀번호를 정하려면 아래 링크를 여세요.`,
    action: '새 비밀번호 정하기',
    expiry: (minutes) => `이 링크는 한 번만 사용할 수 있으며 ${lifetime(minutes)} 후에 만료됩니다.`,
    notYou: '본인이 요청하지 않았다면 이 메일을 무시하세요. 비밀번호는 바뀌지 않습니다.',
  },

  changeEmail: {
    subject: '새 이메일 주소를 확인해 주세요',
    intro: (email) =>
      `${email}을(를) 계정의 이메일 주소로 사용하겠다는 요청이 있었습니다. 본인이 요청했다면 아래 링크를 열어 확인해 주세요. 확인하기 전까지 계정은 기존 주소를 그대로 사용합니다.`,
    action: '새 주소 확인',
    expiry: (minutes) => `이 링크는 한 번만 사용할 수 있으며 ${lifetime(minutes)} 후에 만료됩니다.`,
    notYou: '본인이 요청하지 않았다면 이 메일을 무시하세요. 아무것도 바뀌지 않습니다.',
  },

  emailChanged: {
    subject: '이메일 주소가 변경되었습니다',
    intro: (oldEmail, newEmail) => `계정의 이메일 주소가 ${oldEmail}에서 ${newEmail}(으)로 변경되었습니다. 이제부터 로그인과 메일에는 새 주소가 사용됩니다.`,
    notYou: '본인이 변경하지 않았다면 다른 사람이 계정을 사용하고 있을 수 있습니다. 이 서비스의 운영자에게 연락하세요.',
  },
};
