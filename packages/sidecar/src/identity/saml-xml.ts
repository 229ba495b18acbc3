// Parsing of untrusted SAML XML (assertions and IdP metadata) into a DOM that is safe to reason
// about: size capped, no DTD or entity declarations (so no entity expansion and no external
// entities), no comments or processing instructions (a comment inside NameID truncates the name
// in readers that take the first text node), bounded depth and element count, and any parser
// complaint is fatal. Callers get one of SamlXmlError's reasons; the message never quotes input.
import { DOMParser } from '@xmldom/xmldom';
import type { Document, Element, Node } from '@xmldom/xmldom';

export const NS = {
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

export type SamlXmlProblem = 'too_large' | 'dtd' | 'not_xml' | 'comment' | 'processing_instruction' | 'too_deep' | 'too_many_elements';

export class SamlXmlError extends Error {
  override name = 'SamlXmlError';
  readonly problem: SamlXmlProblem;
  constructor(problem: SamlXmlProblem, message: string) {
    super(message);
    this.problem = problem;
  }
}

export interface ParseLimits {
  maxBytes: number;
  maxDepth?: number;
  maxElements?: number;
}

const ELEMENT_NODE = 1;
const PROCESSING_INSTRUCTION_NODE = 7;
const COMMENT_NODE = 8;
const DOCUMENT_TYPE_NODE = 10;
const ENTITY_REFERENCE_NODE = 5;

/** Parses `text` as XML under the rules above; throws SamlXmlError. */
export function parseSafeXml(text: string, limits: ParseLimits): Document {
  if (Buffer.byteLength(text, 'utf8') > limits.maxBytes) {
    throw new SamlXmlError('too_large', `larger than ${limits.maxBytes} bytes`);
  }
  // Refused before the parser sees it: no DTD means no entity can be declared, expanded or fetched.
  if (/<!DOCTYPE|<!ENTITY|<!ELEMENT|<!ATTLIST/i.test(text)) {
    throw new SamlXmlError('dtd', 'contains a DTD or entity declaration');
  }
  if (/<\?(?!xml[\s?])/i.test(text) || /.<\?xml[\s?]/s.test(text.trimStart())) {
    throw new SamlXmlError('processing_instruction', 'contains a processing instruction');
  }
  let doc: Document;
  try {
    doc = new DOMParser({
      locator: false,
      onError: (level: string) => {
        throw new Error(`XML ${level}`);
      },
    }).parseFromString(text, 'text/xml');
  } catch {
    throw new SamlXmlError('not_xml', 'is not well-formed XML');
  }
  if (!doc.documentElement) throw new SamlXmlError('not_xml', 'is not well-formed XML');
  checkNodes(doc, limits.maxDepth ?? 32, limits.maxElements ?? 2000);
  return doc;
}

function checkNodes(doc: Document, maxDepth: number, maxElements: number): void {
  let elements = 0;
  // Iterative walk: a hostile document must not be able to exhaust the stack.
  const stack: Array<{ node: Node; depth: number }> = [{ node: doc, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    switch (node.nodeType) {
      case COMMENT_NODE:
        throw new SamlXmlError('comment', 'contains an XML comment');
      case PROCESSING_INSTRUCTION_NODE:
        // xmldom keeps the XML declaration as a leading "xml" processing instruction.
        if (node === doc.firstChild && (node as unknown as { target: string }).target === 'xml') break;
        throw new SamlXmlError('processing_instruction', 'contains a processing instruction');
      case DOCUMENT_TYPE_NODE:
      case ENTITY_REFERENCE_NODE:
        throw new SamlXmlError('dtd', 'contains a DTD or entity declaration');
      case ELEMENT_NODE:
        if (++elements > maxElements) throw new SamlXmlError('too_many_elements', `has more than ${maxElements} elements`);
        if (depth > maxDepth) throw new SamlXmlError('too_deep', `nests elements deeper than ${maxDepth} levels`);
        break;
    }
    for (let c = node.firstChild; c; c = c.nextSibling) stack.push({ node: c, depth: depth + 1 });
  }
}

/** Element children of `el` (in document order), optionally only those with this namespace and local name. */
export function childElements(el: Node, ns?: string, localName?: string): Element[] {
  const out: Element[] = [];
  for (let c = el.firstChild; c; c = c.nextSibling) {
    if (c.nodeType !== ELEMENT_NODE) continue;
    const e = c as Element;
    if (ns !== undefined && (e.namespaceURI !== ns || e.localName !== localName)) continue;
    out.push(e);
  }
  return out;
}

/** Every element in the subtree of `root` (root included) with this local name, in any namespace. */
export function descendantsNamed(root: Node, localName: string): Element[] {
  const out: Element[] = [];
  const stack: Node[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.nodeType === ELEMENT_NODE && (node as Element).localName === localName) out.push(node as Element);
    for (let c = node.lastChild; c; c = c.previousSibling) stack.push(c);
  }
  return out;
}

/** The text of an element that must hold text only (no child elements); undefined otherwise. */
export function textOnly(el: Element): string | undefined {
  let text = '';
  for (let c = el.firstChild; c; c = c.nextSibling) {
    if (c.nodeType === ELEMENT_NODE) return undefined;
    text += c.nodeValue ?? '';
  }
  return text;
}

/** Whether `el` is `ns`:`localName`. */
export function isElement(el: Node | null | undefined, ns: string, localName: string): el is Element {
  return !!el && el.nodeType === ELEMENT_NODE && (el as Element).namespaceURI === ns && (el as Element).localName === localName;
}
