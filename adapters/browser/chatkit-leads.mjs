// chatkit-leads.mjs — the browser half of chatkit-leads, as an ES module.
//
// Mints ChatKit client secrets through the shop's server (`POST /session`)
// and tells the server when a chat is worth a lead email (`POST /lead`):
// after an idle pause, when the tab is hidden or closed, or when the page
// closes the chat. No dependencies, no build step; `chatkit-leads.js` is the
// same code as a classic script defining `window.ChatKitLeads`.
//
// It never throws into the host page, never blocks unload, and keeps working
// (in memory) when the browser refuses storage. See docs/browser.md.

export const VERSION = '0.1.0';

const SENT = 'chatkit-lead-sent:';
const THREAD = 'chatkit-thread-id';
const FIRST_TOUCH = 'chatkit-leads-first-touch';
const LAST_TOUCH = 'chatkit-leads-last-touch';
const CAMPAIGN = ['gclid', 'gbraid', 'wbraid', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'];
const INPUT = ['keydown', 'pointerdown', 'touchstart', 'focusin'];
// Browsers refuse `keepalive` bodies of 64 KiB or more.
const KEEPALIVE_LIMIT = 65536;

// `base` + `path`, with at most one slash between.
const join = (base, path) => (base || '').replace(/\/+$/, '') + path;

const json = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
};

const pageLocale = () => document.documentElement.lang || navigator.language || undefined;

// Web storage that never throws: values the browser refuses (private mode,
// blocked storage, a full quota) are kept in memory for this page instead.
function storage(name) {
  const memory = new Map();
  let area = null;
  try {
    area = window[name];
    area.setItem('chatkit-leads-probe', '1');
    area.removeItem('chatkit-leads-probe');
  } catch {
    area = null;
  }
  return {
    get(key) {
      if (memory.has(key)) return memory.get(key);
      try {
        return area ? area.getItem(key) : null;
      } catch {
        return null;
      }
    },
    set(key, value) {
      try {
        if (!area) throw 0;
        if (value === null) area.removeItem(key);
        else area.setItem(key, value);
        memory.delete(key);
      } catch {
        memory.set(key, value);
      }
    },
  };
}

/**
 * The function ChatKit's `api.getClientSecret(current)` expects: POSTs
 * `{current, locale, pageUrl}` to `<endpoint>/session` with the server's
 * user cookie and resolves to the `client_secret`.
 */
export function getClientSecret(options = {}) {
  const { endpoint = '', locale, pageUrl } = options;
  return async (current) => {
    let response;
    try {
      response = await fetch(join(endpoint, '/session'), {
        method: 'POST',
        credentials: 'include',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ current: current ?? null, locale: locale || pageLocale(), pageUrl: pageUrl || location.href }),
      });
    } catch (cause) {
      throw new Error(`chatkit-leads: cannot reach ${join(endpoint, '/session')}`, { cause });
    }
    const answer = json(await response.text().catch(() => ''));
    if (!response.ok || typeof answer?.client_secret !== 'string') {
      const why = typeof answer?.error === 'string' ? `: ${answer.error}` : '';
      const error = new Error(`chatkit-leads: POST /session answered ${response.status}${why}`);
      error.status = response.status;
      throw error;
    }
    return answer.client_secret;
  };
}

// First- and last-touch attribution, captured once per page load. A visit
// is a new touch when its URL carries campaign parameters or it comes from
// another site; the first touch is kept forever.
function touches(local) {
  const query = new URLSearchParams(location.search);
  const visit = { ts: new Date().toISOString(), landing_page: location.href.split('#')[0] };
  for (const key of CAMPAIGN) {
    const value = query.get(key);
    if (value) visit[key] = value;
  }
  try {
    const referrer = document.referrer && new URL(document.referrer);
    if (referrer && referrer.host !== location.host) visit.referrer = referrer.href;
  } catch {
    // An unparsable referrer is no referrer.
  }
  const campaign = (touch) => CAMPAIGN.some((key) => touch && touch[key]);
  const first = json(local.get(FIRST_TOUCH)) || visit;
  let last = json(local.get(LAST_TOUCH)) || visit;
  if (last !== visit && (campaign(visit) || visit.referrer)) last = visit;
  local.set(FIRST_TOUCH, JSON.stringify(first));
  local.set(LAST_TOUCH, JSON.stringify(last));
  const source = campaign(last) ? last : first;
  const attribution = {
    first_touch_ts: first.ts,
    last_touch_ts: last.ts,
    landing_page: last.landing_page,
    referrer: last.referrer || first.referrer,
    device_type: /Mobi|Android|iPhone|iPad/i.test(navigator.userAgent) ? 'mobile' : 'desktop',
  };
  for (const key of CAMPAIGN) if (source[key]) attribution[key] = source[key];
  return attribution;
}

/**
 * Watches a ChatKit element and sends `POST <endpoint>/lead` when the chat
 * is worth a lead. Returns a controller: `flush(reason)` sends now (e.g.
 * `'chat_closed'` when the page closes its chat panel), `detach()` stops.
 */
export function attach(element, options = {}) {
  const { endpoint = '', idleSeconds = 120, locale, pageUrl, onLead } = options;
  const local = storage('localStorage');
  const session = storage('sessionStorage');
  let attribution = {};
  try {
    attribution = touches(local);
  } catch {
    // Attribution is a hint; a lead never waits for it.
  }
  const inFlight = new Set();
  const retryAt = new Map();
  // Sent threads the visitor wrote in again: one more trigger each, so the
  // server can send an update.
  const rearmed = new Set();
  let thread = session.get(THREAD) || null;
  let engaged = false; // trusted input in this thread (or the draft it grew from)
  let writing = false; // trusted input in a sent thread, waiting for its response
  let answered = false; // a response ended since this thread became current
  let timer = 0;
  let detached = false;

  const isSent = (id) => !!local.get(SENT + id) && !rearmed.has(id);

  const armIdle = () => {
    clearTimeout(timer);
    if (answered && !detached) timer = setTimeout(() => send('idle'), idleSeconds * 1000);
  };

  function send(reason) {
    const id = thread;
    if (detached || !id || !engaged || inFlight.has(id) || isSent(id) || Date.now() < (retryAt.get(id) || 0)) {
      return Promise.resolve(null);
    }
    clearTimeout(timer);
    inFlight.add(id);
    const body = JSON.stringify({ threadId: id, reason, locale: locale || pageLocale(), pageUrl: pageUrl || location.href, attribution });
    const url = join(endpoint, '/lead');
    const request = body.length < KEEPALIVE_LIMIT
      ? fetch(url, { method: 'POST', keepalive: true, credentials: 'include', headers: { 'content-type': 'application/json' }, body })
      : Promise.reject(new Error('body too large for keepalive'));
    return request
      .then((response) => response.text())
      .then(json, () => {
        // No answer will come (a refused keepalive, an unloading page): hand
        // the trigger to the browser, which sends beacons after unload.
        if (navigator.sendBeacon) navigator.sendBeacon(url, new Blob([body], { type: 'text/plain' }));
        return null;
      })
      .then((answer) => {
        inFlight.delete(id);
        if (answer && answer.sent === true) {
          rearmed.delete(id);
          local.set(SENT + id, JSON.stringify({ at: new Date().toISOString(), reason: answer.reason }));
        } else if (answer && answer.retry_after > 0) {
          retryAt.set(id, Date.now() + answer.retry_after * 1000);
        }
        if (answer && onLead) onLead(answer, reason, id);
        return answer;
      })
      .catch(() => {
        inFlight.delete(id);
        return null;
      });
  }

  const safe = (handler) => (event) => {
    try {
      handler(event);
    } catch {
      // Never into the host page.
    }
  };

  const onInput = safe((event) => {
    if (!event.isTrusted) return;
    engaged = true;
    if (thread && local.get(SENT + thread)) writing = true;
    armIdle();
  });
  const threadChange = safe((id) => {
    id = id || null;
    if (id === thread) return;
    // A draft that becomes a thread keeps the visitor's intent; switching
    // to another thread (history, a restored session) does not.
    engaged = engaged && thread === null;
    thread = id;
    answered = writing = false;
    clearTimeout(timer);
    session.set(THREAD, id);
  });
  const responseStart = safe(() => clearTimeout(timer));
  const responseEnd = safe(() => {
    answered = true;
    if (writing && thread) rearmed.add(thread);
    writing = false;
    armIdle();
  });
  // Focus moving into the chat's own frame blurs this window: trusted intent
  // the element's listeners cannot see.
  const onWindowBlur = safe((event) => {
    if (event.isTrusted) {
      setTimeout(safe(() => {
        const active = document.activeElement;
        if (active && (active === element || element.contains(active))) onInput({ isTrusted: true });
      }));
    }
  });
  const onHide = safe((event) => {
    if (event.type === 'pagehide' || document.visibilityState === 'hidden') send('pagehide');
  });
  const onStorage = safe((event) => {
    if (thread && event.key === SENT + thread && event.newValue) clearTimeout(timer);
  });
  // The chat leaving the page closes it: once per removal.
  let connected = element.isConnected;
  const removal = new MutationObserver(safe(() => {
    if (connected && !element.isConnected) send('chat_closed');
    connected = element.isConnected;
  }));

  const listeners = [
    [element, 'chatkit.thread.change', (event) => threadChange(event.detail && event.detail.threadId)],
    [element, 'chatkit.response.start', responseStart],
    [element, 'chatkit.response.end', responseEnd],
    ...INPUT.map((type) => [element, type, onInput]),
    [window, 'blur', onWindowBlur],
    [window, 'pagehide', onHide],
    [document, 'visibilitychange', onHide],
    [window, 'storage', onStorage],
  ];
  for (const [target, type, handler] of listeners) target.addEventListener(type, handler, { capture: true, passive: true });
  removal.observe(document.documentElement, { childList: true, subtree: true });

  return {
    get threadId() {
      return thread;
    },
    // For frameworks that hand ChatKit's events to callbacks instead of the
    // DOM (`useChatKit({ onThreadChange, onResponseStart, onResponseEnd })`).
    threadChange,
    responseStart,
    responseEnd,
    flush(reason = 'chat_closed') {
      try {
        return send(String(reason));
      } catch {
        return Promise.resolve(null);
      }
    },
    detach() {
      detached = true;
      clearTimeout(timer);
      removal.disconnect();
      for (const [target, type, handler] of listeners) target.removeEventListener(type, handler, { capture: true });
    },
  };
}
