// Compiled by `tsc --noEmit` in build.test.mjs: the declarations describe
// the script as pages use it, as a module and as `window.ChatKitLeads`.
import { attach, getClientSecret, type LeadAnswer, type LeadsController } from '../chatkit-leads.mjs';
import type { LeadReason } from '../chatkit-leads.js';

const chat = document.createElement('openai-chatkit');
const secret: (current: string | null) => Promise<string> = getClientSecret({ endpoint: 'https://leads.example.com' });
void secret(null).then((value: string) => value.length);

const leads: LeadsController = attach(chat, {
  endpoint: '/chat',
  idleSeconds: 90,
  locale: 'es',
  onLead(answer: LeadAnswer, reason: LeadReason, threadId: string) {
    if (answer.retry_after !== undefined) console.log(reason, threadId, answer.retry_after + 1);
  },
});
leads.threadChange('cthr_abc');
leads.threadChange(null);
leads.responseStart();
leads.responseEnd();
const id: string | null = leads.threadId;
void leads.flush('chat_closed').then((answer) => answer?.sent === true);
leads.detach();

const fromWindow: LeadsController = window.ChatKitLeads.attach(chat);
void window.ChatKitLeads.VERSION.toUpperCase();
void [id, fromWindow];

// @ts-expect-error: idleSeconds is a number of seconds
attach(chat, { idleSeconds: '90' });
