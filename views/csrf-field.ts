import { html, type SafeHtml } from './html.ts';

/** The hidden field every form we render carries (src/interactions/form-tokens.ts). */
export const csrfField = (token: string): SafeHtml => html`<input type="hidden" name="csrf" value="${token}">`;
