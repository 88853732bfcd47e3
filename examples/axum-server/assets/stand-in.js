// A stand-in for ChatKit's <openai-chatkit> element, for the offline demo
// page and the browser tests. The real element cannot load without an
// OpenAI account; this one renders a plain composer and dispatches the DOM
// events the real one does, so chatkit-leads.js can be tried for real.
//
//   <openai-chatkit thread="cthr_…" response-ms="400"></openai-chatkit>
//
// Sending the first message turns the draft into the thread named by the
// `thread` attribute (`chatkit.thread.change`); every message is answered
// after `response-ms` (`chatkit.response.start`, then `chatkit.response.end`).
class StandInChatKit extends HTMLElement {
  connectedCallback() {
    if (this.composer) return;
    this.current = null;
    this.innerHTML = `
      <p class="stand-in-label"><strong>Stand-in for the ChatKit element</strong>
        (offline preview: no assistant answers, only ChatKit's events).</p>
      <ol class="stand-in-log" aria-label="Messages"></ol>
      <textarea class="stand-in-composer" rows="2" aria-label="Message"></textarea>
      <button type="button" class="stand-in-send">Send</button>`;
    this.composer = this.querySelector('textarea');
    this.querySelector('button').addEventListener('click', () => this.send());
  }

  /** Like the real element's `setThreadId`: loads a thread (or a new draft). */
  setThreadId(threadId) {
    this.current = threadId;
    this.emit('chatkit.thread.change', { threadId });
  }

  send() {
    const text = this.composer.value.trim();
    if (!text) return;
    this.composer.value = '';
    const entry = document.createElement('li');
    entry.textContent = text;
    this.querySelector('ol').append(entry);
    if (!this.current) this.setThreadId(this.getAttribute('thread'));
    this.emit('chatkit.response.start');
    setTimeout(() => this.emit('chatkit.response.end'), Number(this.getAttribute('response-ms') || 400));
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

customElements.define('openai-chatkit', StandInChatKit);
