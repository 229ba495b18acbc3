// Built-in detectors of IP addresses, v4 and v6 (docs/masking.md).
//
// Regexes: every quantifier is bounded; no quantified group contains an alternative that can
// match the same text another way; matches start after a boundary check (a lookbehind on one
// character), so a run of alphabet characters is attempted once.

import { asciiSet, type Detector, holdScan, inSet, regexDetector, runHold, WORD } from './detector.ts';
import { ipv6Valid } from './checks.ts';

// ----------------------------------------------------------------------------- ip-address

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4_RE = new RegExp(`(?<![A-Za-z0-9_.])(?:${OCTET}\\.){3}${OCTET}(?![A-Za-z0-9_]|\\.[0-9])`, 'g');

export const ipv4: Detector = regexDetector({
  id: 'ip-address/v4',
  category: 'ip-address',
  re: IPV4_RE,
  maxLen: 17,
  alpha: '0-9.',
  start: '0-9',
  notAfter: 'A-Za-z0-9_.',
});

const V6_RUN = asciiSet('0-9A-Fa-f:.');
const HEX = asciiSet('0-9A-Fa-f');
const HEX_OR_COLON = asciiSet('0-9A-Fa-f:');

/**
 * The first position at or after `from` of "h:h", "h::" or "::" (h a hex digit), -1 when there is
 * none: what /[0-9A-Fa-f]:[0-9A-Fa-f:]|::/g finds (builtin.regex.test.ts holds it to that). Every
 * candidate has a colon at or right after its start, and colons are rare in text, so it goes from
 * colon to colon (a native scan, ~4x faster than that pattern, which opened with a letter of a-f).
 */
export function v6Candidate(text: string, from: number): number {
  for (let c = text.indexOf(':', from); c >= 0; c = text.indexOf(':', c + 1)) {
    // (charCodeAt past the end is NaN, in no set)
    if (c > from && inSet(HEX, text.charCodeAt(c - 1)) && inSet(HEX_OR_COLON, text.charCodeAt(c + 1))) return c - 1;
    if (text.charCodeAt(c + 1) === 58 /* : */) return c;
  }
  return -1;
}
const V6_MAXRUN = 46; // 45 characters of address plus one trailing '.' or ':'
const V6_HOLD = holdScan(V6_RUN, V6_RUN, asciiSet('0-9A-Za-z_:.'));

/** Candidates are maximal runs of [0-9A-Fa-f:.] containing "h:h", "h::" or "::". */
export const ipv6: Detector = {
  id: 'ip-address/v6',
  category: 'ip-address',
  maxLen: V6_MAXRUN + 2,
  leftContext: (text, q) => {
    const before = text.charCodeAt(q - 1);
    return (inSet(V6_RUN, before) || inSet(WORD, before)) && inSet(V6_RUN, text.charCodeAt(q));
  },
  find(text, from, out) {
    const len = text.length;
    for (let k = v6Candidate(text, from); k >= 0;) {
      let s = k;
      // Stryker disable all: bounds on the walk (linear time): a run longer than any address is refused
      // by the checks below whatever its walked length; charCodeAt out of range is NaN, in no set,
      // like -1 (docs/testing.md)
      const lim = k - V6_MAXRUN > from ? k - V6_MAXRUN : from;
      while (s > lim && inSet(V6_RUN, text.charCodeAt(s - 1))) s--;
      let e = k;
      const elim = s + V6_MAXRUN + 1;
      while (e < len && e < elim && inSet(V6_RUN, text.charCodeAt(e))) e++;
      const before = s > 0 ? text.charCodeAt(s - 1) : -1;
      const after = e < len ? text.charCodeAt(e) : -1;
      // Stryker restore all
      let ok = !inSet(V6_RUN, before) && !inSet(WORD, before) && !inSet(V6_RUN, after) && !inSet(WORD, after);
      if (ok) {
        let end = e;
        let cand = text.slice(s, e);
        if (!ipv6Valid(cand)) {
          ok = false;
          const last = cand.charCodeAt(cand.length - 1);
          // a sentence's full stop or a label's colon right after the address
          if (last === 46 || (last === 58 && cand.charCodeAt(cand.length - 2) !== 58)) {
            cand = cand.slice(0, -1);
            end--;
            ok = ipv6Valid(cand);
          }
        }
        if (ok) {
          out.start = s;
          out.end = end;
          return s;
        }
      }
      // skip the rest of this run (each character is looked at a bounded number of times)
      // Stryker disable next-line all: without the skip the next candidate of the same run is refused by its left neighbour; only the work differs (docs/testing.md)
      while (e < len && inSet(V6_RUN, text.charCodeAt(e))) e++;
      k = v6Candidate(text, e); // past k + 1: the candidate's own "h:" is part of the run
    }
    return -1;
  },
  hold(text, from, upTo) {
    return runHold(text, from, upTo, V6_MAXRUN + 2, V6_HOLD);
  },
};
