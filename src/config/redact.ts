// Secrets never leave in what we print: an option marked `secret` shows as
// [redacted], and a password inside any URL-looking value
// (postgres://user:PASSWORD@host, https://user:PASSWORD@coder) is replaced.
export const REDACTED = "[redacted]";

const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s/@]*@/gi;

/** `text` with the password of every `scheme://user:password@` replaced. */
export function redactUrlPasswords(text: string): string {
  return text.replace(URL_PASSWORD, `$1${REDACTED}@`);
}
