// Served at /assets/gatehouse.css: an external stylesheet, so the pages' CSP needs no
// 'unsafe-inline'. Contrast ratios meet WCAG AA on the default colours.
export const stylesheet = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans KR",sans-serif;color:#1b1f24;background:#f3f4f6}
.card{max-width:26rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.4rem;margin:0 0 1rem}
p{margin:.5rem 0}
label{display:block;margin:1rem 0 .25rem;font-weight:600}
input[type=email],input[type=password],input[type=text]{width:100%;padding:.6rem;border:1px solid #6b7280;border-radius:.375rem;font:inherit}
input:focus,button:focus{outline:3px solid #2563eb;outline-offset:2px}
button{margin-top:1.25rem;width:100%;padding:.7rem;border:0;border-radius:.375rem;font:inherit;font-weight:600;cursor:pointer}
.primary{background:#1d4ed8;color:#fff}
.secondary{background:#e5e7eb;color:#1b1f24}
.error{padding:.75rem;border-radius:.375rem;background:#fee2e2;color:#7f1d1d}
ul.scopes{padding-left:1.25rem}
.muted{color:#4b5563;font-size:.9rem}
code{font-size:.85rem;word-break:break-all}
@media (max-width:30rem){.card{margin:0;border-radius:0;min-height:100vh}}
`;
