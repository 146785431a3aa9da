import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs. Secrets are redacted by path wherever they could appear. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { ...base },
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        'apiKey',
        'webhookSecret',
        'password',
        '*.apiKey',
        '*.webhookSecret',
        '*.password',
        '*.token',
        'payment.token',
      ],
      censor: '[redacted]',
    },
  });
}
