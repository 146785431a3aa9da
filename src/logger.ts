import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };
export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * Structured JSON logs, or readable lines for a person at a terminal (`auto` picks by whether stdout is one).
 * Secrets are redacted by path wherever they could appear, in both.
 */
export function createLogger(level: string, base: Record<string, unknown> = {}, format: LogFormat = 'json'): Logger {
  const readable = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  const destination = readable ? pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true }) : undefined;
  const options = {
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
  };
  return destination ? pino(options, destination) : pino(options);
}
