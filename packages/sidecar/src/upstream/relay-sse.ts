// Relays an event stream to the caller event by event: masked where the scope asks, observed
// for usage and errors (Messages), each event out as soon as its blank line has arrived. An event
// still arriving is held, so what it holds is bounded twice: by the parser's limit on one event
// (MAX_SSE_BLOCK_BYTES) and by the body budget shared with every body held whole.
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { completeBlocks, completeOf } from './sse-blocks.ts';
import {
  MessageStreamObserver,
  SseBlockTooLargeError,
  SseParser,
  sseErrorEvent,
  type AnthropicErrorType,
  type Masking,
} from '@scopekeeper/core';
import { BodyBudgetError, type BodyLease } from '../http/body-budget.ts';
import type { RelayResult } from './response.ts';
import { unmaskableMessage } from './service-answer.ts';
import { eventHasThinking, UNINVITED_THINKING } from './thinking.ts';

/** One response on its way: the upstream socket, the (decoded) body source, the caller, the status. */
export interface Leg {
  upstream: Readable;
  source: NodeJS.ReadableStream;
  res: ServerResponse;
  status: number;
}

/** What the caller's stream is told, and the record says, when relaying fails on our side. */
function failure(e: Error): { type: AnthropicErrorType; message: string; error: string } {
  if (e instanceof SseBlockTooLargeError)
    return {
      type: 'api_error',
      message: 'The upstream sent an event larger than scopekeeper holds to check; the stream was ended. Retry the request.',
      error: `upstream event too large: ${e.message}`,
    };
  if (e instanceof BodyBudgetError)
    return {
      type: 'overloaded_error',
      message: `scopekeeper has no room for this stream's event now (${e.message}); retry the request in a moment.`,
      error: `body budget: ${e.message}`,
    };
  return { type: 'api_error', message: 'scopekeeper failed to relay the stream; retry the request.', error: `relay failed: ${e.message}` };
}

/** `thinking`: the request enabled thinking; otherwise a masked stream that starts thinking is ended (thinking.ts). */
export function relaySse(
  leg: Leg,
  messages: boolean,
  masking: Masking | undefined,
  lease: BodyLease | undefined,
  thinking = false,
): Promise<RelayResult> {
  const { upstream, source, res, status } = leg;
  // Messages streams go out block by block (each as soon as it is complete), so the caller never
  // holds half an event: an error event we add after a cut is then read as an error event.
  // (A masker parses the stream itself, emits whole blocks, and shows the observer every event
  // of a chunk before it masks them: what it returns for a chunk with thinking unasked is dropped.)
  const observer = new MessageStreamObserver();
  let unasked = false;
  const watch = masking !== undefined && messages && !thinking;
  const masker = masking?.createSseMasker(
    messages
      ? (ev) => {
          observer.observe(ev);
          if (watch && !unasked) unasked = eventHasThinking(ev);
        }
      : undefined,
  );
  const parser = messages && !masker ? new SseParser() : undefined;
  const hold = lease?.part();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: Omit<RelayResult, 'status'>) => {
      if (settled) return;
      settled = true;
      resolve({
        status,
        usage: observer.facts.usage,
        toolsUsed: observer.facts.toolsUsed,
        masked: masker ? { ...masker.counts } : undefined,
        blocked: masker?.blocked,
        ...r,
      });
    };
    // Nothing of the chunk that started thinking unasked goes out: the stream ends with an error event.
    const stopUnasked = () => {
      upstream.destroy();
      res.end(sseErrorEvent('api_error', unmaskableMessage(UNINVITED_THINKING, 'thinking')));
      finish({ error: `unmaskable answer: ${UNINVITED_THINKING}` });
    };
    // The stream was cut: the masker still shows the observer (and the thinking watch) the last,
    // unterminated event, but nothing it held back goes out (see `broken`).
    const dropHeld = () => void masker?.end();
    // A throw in a stream callback would reach the process: it ends this response instead.
    const guard =
      <A extends unknown[]>(fn: (...a: A) => void) =>
      (...a: A) => {
        try {
          fn(...a);
        } catch (e) {
          upstream.destroy();
          const f = failure(e as Error);
          if (!settled) res.end(sseErrorEvent(f.type, f.message));
          finish({ error: f.error });
        }
      };
    source.on(
      'data',
      guard((chunk: Buffer) => {
        if (settled) return;
        // Observe what the upstream sent (usage, error events) before masking changes it.
        let out = chunk;
        if (masker) out = masker.push(chunk);
        else if (parser) out = completeOf(parser.push(chunk), observer, chunk);
        if (unasked) return stopUnasked();
        hold?.(masker?.pendingBytes ?? parser?.pendingBytes ?? 0);
        if (out.length && !res.write(out)) {
          source.pause();
          res.once('drain', () => source.resume());
        }
        if (masker?.blocked) {
          upstream.destroy();
          res.end();
          finish({ error: `blocked: ${masker.blocked}` });
        }
      }),
    );
    source.once(
      'end',
      guard(() => {
        if (settled) return;
        // A Messages stream ends with message_stop or an error event; anything else was cut short
        // (the observer has seen every complete event: only an unterminated one is left to end()).
        if (messages && !observer.facts.complete && !observer.facts.error) {
          dropHeld();
          if (unasked) return stopUnasked();
          res.end(sseErrorEvent('api_error', 'The upstream stream ended before the message was complete; retry the request.'));
          return finish({ error: 'upstream stream ended before message_stop' });
        }
        if (masker) {
          const tail = completeBlocks(masker.end());
          if (unasked) return stopUnasked();
          if (tail.length) res.write(tail);
        }
        res.end();
        finish({ error: observer.facts.error ? `upstream error event: ${observer.facts.error.type}` : undefined });
      }),
    );
    const broken = guard((why: string) => {
      if (settled) return;
      // The caller already has a 200: tell it in the stream's own terms, then end. What the masker
      // holds back is the start of a value that may go on (`4111 1111 1111 111`, `jane.doe@exam`):
      // written out, masker.end() decides it as if the text had ended there, so a cut released the
      // prefix of a value that no detector can call complete. It is dropped; the text before it
      // has gone out already, and the caller must retry anyway.
      dropHeld();
      if (unasked) return stopUnasked();
      res.end(sseErrorEvent('api_error', `The upstream stream was interrupted (${why}); retry the request.`));
      finish({ error: `upstream stream interrupted: ${why}` });
    });
    source.once('error', (e: Error) => broken(e.message));
    if (source !== upstream) upstream.on('error', (e: Error) => broken(e.message));
    upstream.once('close', () => {
      if (!upstream.readableEnded) broken('connection reset');
    });
    res.once('close', () => {
      if (!res.writableFinished) {
        upstream.destroy();
        finish({ error: 'the client closed the connection' });
      }
    });
  });
}
