// HOST:PORT as the listen flags take it ("127.0.0.1:15180", ":15180", "[::1]:15180"); undefined
// when the text is not one, so each command can say what to write in its own terms.
export function splitHostPort(value: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) return undefined;
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}
