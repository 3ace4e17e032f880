// What pino blanks out of every log line: credentials that could reach a log by accident (a
// request's headers, or the config object, whose SMTP_URL carries the SMTP password).
export const LOG_REDACT_PATHS = ['req.headers.authorization', 'req.headers.cookie', 'smtpUrl', '*.smtpUrl', 'config.mail.smtpUrl'];
