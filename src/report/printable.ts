/** Untrusted text (names, explanations, bodies, error messages) must not carry terminal control sequences. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g, '\uFFFD');
}
