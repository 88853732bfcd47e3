// Type declarations for chatkit-leads.mjs (the ES module) and
// chatkit-leads.js (the classic script, which defines `window.ChatKitLeads`).

/** The version of the script. */
export declare const VERSION: string;

/** Where the chatkit-leads server lives and what to tell it about the page. */
export interface EndpointOptions {
  /**
   * The server's base URL, e.g. `"https://leads.example.com"` or `"/chat"`
   * when the routes are nested in the shop's own app. Default `""`: this
   * page's origin.
   */
  endpoint?: string;
  /** The page's language; default `<html lang>`, then `navigator.language`. */
  locale?: string;
  /** The page the chat runs on; default `location.href`. */
  pageUrl?: string;
}

/** An error answer of `POST /session`. */
export interface SessionError extends Error {
  /** The HTTP status the server answered (absent when it was unreachable). */
  status?: number;
}

/**
 * The function ChatKit's `api.getClientSecret(current)` expects: it POSTs
 * `{current, locale, pageUrl}` to `<endpoint>/session` with the server's user
 * cookie (`credentials: 'include'`) and resolves to the `client_secret`.
 * Rejects with a {@link SessionError} naming the status on a non-2xx answer.
 */
export declare function getClientSecret(
  options?: EndpointOptions,
): (current: string | null) => Promise<string>;

/** The server's answer to `POST /lead` (SPEC §3). */
export interface LeadAnswer {
  ok: boolean;
  /** True when this call sent the email, or it was sent earlier. */
  sent: boolean;
  /**
   * The trigger when this call sent; else `already_sent`, `in_progress`,
   * `cooldown`, `empty_thread`, `missing_contact`, `not_ready` (or the
   * model's reason), `not_idle`, `update_sent`.
   */
  reason: string;
  message_id?: string;
  sent_at?: number;
  /** Seconds before a new trigger is worth sending (`not_idle`, `cooldown`). */
  retry_after?: number;
  missing_info?: string[];
  possible_duplicate?: boolean;
  /** Present on error answers (4xx/5xx). */
  error?: string;
}

/** The triggers the script sends; `flush` may send any other string. */
export type LeadReason = 'idle' | 'pagehide' | 'chat_closed' | (string & {});

export interface AttachOptions extends EndpointOptions {
  /**
   * Seconds without visitor input or response activity, after a response
   * ended, before the `idle` trigger. Default 120.
   */
  idleSeconds?: number;
  /** Called with every answer of `POST /lead` (never for unanswered calls). */
  onLead?: (answer: LeadAnswer, reason: LeadReason, threadId: string) => void;
}

/** What {@link attach} returns. */
export interface LeadsController {
  /** The current ChatKit thread, or `null` for a new draft. */
  readonly threadId: string | null;
  /**
   * Sends the trigger now (default `'chat_closed'`, e.g. when the page closes
   * its chat panel). Resolves to the server's answer, or `null` when nothing
   * was sent (no visitor input yet, already sent, a call in flight, waiting
   * for `retry_after`) or no answer came.
   */
  flush(reason?: LeadReason): Promise<LeadAnswer | null>;
  /** Feed ChatKit's `onThreadChange` here when the events reach callbacks, not the DOM. */
  threadChange(threadId: string | null): void;
  /** Feed ChatKit's `onResponseStart` here (see `threadChange`). */
  responseStart(): void;
  /** Feed ChatKit's `onResponseEnd` here (see `threadChange`). */
  responseEnd(): void;
  /** Stops listening; nothing is sent afterwards. */
  detach(): void;
}

/**
 * Watches a ChatKit element (or an element that contains it) and sends
 * `POST <endpoint>/lead` when the chat is worth a lead: `idle`, `pagehide`
 * (tab hidden or closed, with `fetch(…, {keepalive: true})`), `chat_closed`
 * (element removed, or `flush()`). Nothing is sent before a trusted visitor
 * interaction inside the chat, and nothing again for a thread the server
 * answered `sent: true` — in any tab — until the visitor writes there again.
 */
export declare function attach(element: Element, options?: AttachOptions): LeadsController;

declare global {
  interface Window {
    /** Defined by the classic script `chatkit-leads.js`. */
    ChatKitLeads: {
      readonly VERSION: typeof VERSION;
      readonly getClientSecret: typeof getClientSecret;
      readonly attach: typeof attach;
    };
  }
}
