import { bodyMayOverride, bodyOverrides, formBodyProblem, isMethodParam, queryOverrides } from './method-override.ts';

describe('a parameter read as the method', () => {
  test.each([
    ['_method', 'as Rails, Spring, Symfony name it'],
    ['_METHOD', 'any case'],
    ['%5Fmethod', 'percent-encoded underscore'],
    ['%5fmethod', 'lower-case escape'],
    ['_me%74hod', 'any letter percent-encoded'],
    ['+_method', "a leading space ('+'), which PHP drops"],
    ['%20_method', 'a leading space, encoded'],
    ['.method', "PHP reads '.' as '_'"],
    ['%2Emethod', "PHP reads an encoded '.' as '_'"],
    ['+.method', "a leading space dropped, then '.' read as '_'"],
    ['_method[]', 'the array _method'],
    ['_method[0]', 'the array _method'],
    ['_method%00x', 'cut at NUL'],
  ])('%s is refused (%s)', (name) => {
    expect(isMethodParam(name)).toBe(true);
  });

  test.each([
    ['method'],
    ['+method'],
    ['payment_method'],
    ['_methods'],
    ['x_method'],
    ['_method_'],
    ['__method'],
    ['_meth%6Fd2'],
    ['%E2%80%8B_method'],
  ])('%s is an ordinary name', (name) => {
    expect(isMethodParam(name)).toBe(false);
  });
});

describe('the query', () => {
  test.each(['?_method=DELETE', '_method=DELETE', '?x=1&_method=PUT', '?a=1;_method=DELETE', '?_method', '?q=1&%5Fmethod=DELETE&z'])(
    '%s overrides',
    (q) => {
      expect(queryOverrides(q)).toBe(true);
    },
  );
  test.each(['', '?', '?method=GET&q=a;b', '?note=_method', '?payment_method=card', '?q=_method%3DDELETE'])('%s does not', (q) => {
    expect(queryOverrides(q)).toBe(false);
  });
});

describe('which POST bodies are read', () => {
  test.each([
    ['POST', undefined, true],
    ['POST', '', true],
    ['post', 'application/x-www-form-urlencoded', true],
    ['POST', 'Application/X-WWW-Form-Urlencoded; charset=utf-8', true],
    ['POST', 'multipart/form-data; boundary=x', true],
    ['POST', 'multipart/mixed; boundary=x', true],
    ['POST', 'application/json', false],
    ['POST', 'application/xml', false],
    ['POST', 'application/octet-stream', false],
    ['PUT', 'application/x-www-form-urlencoded', false],
    ['GET', undefined, false],
  ])('%s with content type %s: %s', (method, type, read) => {
    expect(bodyMayOverride(method, type)).toBe(read);
  });
});

describe('the body', () => {
  const multipart = (disposition: string) =>
    Buffer.from(`--b\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n--b\r\n${disposition}\r\n\r\nDELETE\r\n--b--\r\n`);

  test.each([
    ['a urlencoded form', Buffer.from('_method=DELETE')],
    ['a later pair', Buffer.from('name=Ann&_method=delete')],
    ['an encoded name', Buffer.from('%5Fmethod=DELETE')],
    ["Rack's ';' separator", Buffer.from('a=1;_method=DELETE')],
    ['a multipart part', multipart('Content-Disposition: form-data; name="_method"')],
    ['a multipart part, unquoted name', multipart('content-disposition: form-data; name=_method')],
    ['a multipart part, RFC 5987 name', multipart("Content-Disposition: form-data; name*=UTF-8''%5Fmethod")],
    ['a multipart part, escaped quote inside', multipart('Content-Disposition: form-data; name="_meth\\od"')],
    ['a multipart part, LF only', Buffer.from('--b\nContent-Disposition: form-data; name="_method"\n\nPUT\n--b--\n')],
  ])('%s names _method', (_what, body) => {
    expect(bodyOverrides(body)).toBe(true);
  });

  test.each([
    ['a value that says _method', Buffer.from('note=_method&x=1')],
    ['payment_method', Buffer.from('payment_method=card')],
    ['JSON', Buffer.from('{"_method_note":"x"}')],
    ['a multipart part of another name', multipart('Content-Disposition: form-data; name="payment_method"')],
    ['a file named _method', multipart('Content-Disposition: form-data; name="upload"; filename="_method"')],
    ['an empty body', Buffer.alloc(0)],
  ])('%s does not', (_what, body) => {
    expect(bodyOverrides(body)).toBe(false);
  });
});

describe('a form body that cannot be read', () => {
  test.each(['gzip', 'deflate', 'br', 'GZIP', 'x-custom'])('content-encoding %s is refused, whatever the bytes', (encoding) => {
    expect(formBodyProblem(Buffer.from('note=hi'), encoding)).toMatch(/is compressed .* send it uncompressed/);
  });
  test.each([undefined, '', 'identity'])('content-encoding %p: read as it is', (encoding) => {
    expect(formBodyProblem(Buffer.from('note=hi'), encoding)).toBeUndefined();
    expect(formBodyProblem(Buffer.from('_method=PUT'), encoding)).toMatch(/carries _method/);
  });
});
