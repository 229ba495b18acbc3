import { resolve } from 'node:path';
import { parseAuditFlag } from './flag.ts';
import { FileSink } from './file-sink.ts';
import { HttpSink } from './http-sink.ts';
import { StdoutSink } from './stdout-sink.ts';

describe('parseAuditFlag', () => {
  test('accepted forms', () => {
    expect(parseAuditFlag('stdout')).toBeInstanceOf(StdoutSink);
    const f = parseAuditFlag('file:/var/log/scopekeeper/audit.jsonl');
    expect(f).toBeInstanceOf(FileSink);
    expect(f.name).toBe('file:/var/log/scopekeeper/audit.jsonl');
    expect(parseAuditFlag('file:audit.jsonl').name).toBe(`file:${resolve('audit.jsonl')}`);
    expect(parseAuditFlag('file:///tmp/a.jsonl').name).toBe('file:/tmp/a.jsonl');
    expect(parseAuditFlag('https://collector.example.com/audit')).toBeInstanceOf(HttpSink);
    expect(parseAuditFlag('http://127.0.0.1:9000/x').name).toBe('http://127.0.0.1:9000/x');
    expect(['stdout', 'file:/a'].map(parseAuditFlag)).toHaveLength(2); // usable with Array.map
  });
  test('a bad value says what is accepted', () => {
    expect(() => parseAuditFlag('syslog')).toThrow('--audit "syslog": unknown audit sink; accepted forms: "stdout", "file:PATH"');
    expect(() => parseAuditFlag('file:')).toThrow(/the file path is missing; accepted forms/);
    expect(() => parseAuditFlag('https://')).toThrow(/not a valid http\(s\) URL; accepted forms/);
    expect(() => parseAuditFlag('ftp://user:pw@host')).toThrow(/value hidden/);
    expect(() => parseAuditFlag('https://u:secret@')).toThrow(expect.objectContaining({ message: expect.not.stringContaining('secret') }));
  });
});
