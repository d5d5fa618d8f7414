// The part of a response body a reader needs: for an HTML page, its content without the head, scripts and styles,
// from the section that tells versions apart (Bookinfo's reviews block, with its stars) when the page has one.
export interface Excerpt {
  text: string;
  /** What was left out, in words (shown under the sample). */
  what: string;
}

/** Section markers in the order they are looked for: where a page's telling part starts (Bookinfo's productpage template). */
const sectionMarkers = ['<!-- Book reviews section -->'];

/** Bodies shorter than this are shown whole. */
const shortBody = 600;

/** undefined when the body is not HTML or short enough to show as it is. */
export function bodyExcerpt(body: string): Excerpt | undefined {
  // Markup, not JSON or text: Bookinfo's productpage itself starts with <meta>, not <html>.
  if (body.length <= shortBody || !/^\s*</.test(body) || !/<\/(html|body|div|title|p)>/i.test(body)) return undefined;
  const marker = sectionMarkers.find((m) => body.includes(m));
  const from = marker ? body.slice(body.indexOf(marker)) : (/<body[^>]*>([\s\S]*)$/i.exec(body)?.[1] ?? body);
  const text = from
    .replace(/<script\b[\s\S]*?<\/script>/gi, '')
    .replace(/<style\b[\s\S]*?<\/style>/gi, '')
    .replace(/<head\b[\s\S]*?<\/head>/gi, '')
    // An inline icon keeps its opening tag (fill="currentColor" is a full star, fill="none" an empty one), not its path.
    .replace(/(<svg\b[^>]*?)\s*>[\s\S]*?<\/svg>/gi, '$1/>')
    .replace(/<\/(body|html)>\s*$/gi, '')
    .replace(/^\s*\n/gm, '')
    .trim();
  return {
    text,
    what: marker
      ? `the page from its reviews section on (${body.length} characters in all)`
      : `the page without its head, scripts and styles (${body.length} characters in all)`,
  };
}
