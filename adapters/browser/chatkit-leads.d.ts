// Type declarations for chatkit-leads.js and chatkit-leads.mjs: the same
// declarations as chatkit-leads.d.mts (where TypeScript looks for an `.mjs`),
// including `window.ChatKitLeads`, the global the classic script defines.
export * from './chatkit-leads.mjs';
