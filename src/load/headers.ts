// Request headers as the user wrote them (any case): the one lookup the drivers and the login step use.

/** The key under which `headers` holds `name` (HTTP header names are case-insensitive), if any. */
export function headerKey(headers: Record<string, string>, name: string): string | undefined {
  const lower = name.toLowerCase();
  return Object.keys(headers).find((k) => k.toLowerCase() === lower);
}

export function hasHeader(headers: Record<string, string>, name: string): boolean {
  return headerKey(headers, name) !== undefined;
}
