export function nodeVersionProblem(node: { version: string; typeStripping: unknown; command?: string }): string | undefined;
