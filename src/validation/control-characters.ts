/**
 * C0 controls and DEL. Nothing a person types holds them, and they reach SQL (Postgres refuses
 * U+0000 in text with a driver error, a 500), Redis keys, headers and logs: user-supplied names,
 * addresses and identifiers that contain one are refused before anything else looks at them.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

export const hasControlCharacters = (value: string): boolean => CONTROL_CHARACTERS.test(value);
