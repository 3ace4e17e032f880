import { html, type SafeHtml } from '../src/http/html.ts';

export function layout(options: { title: string; body: SafeHtml }): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${options.title} · Gatehouse</title>
<link rel="stylesheet" href="/assets/gatehouse.css">
</head>
<body>
<main class="card">
${options.body}
</main>
</body>
</html>`;
}
