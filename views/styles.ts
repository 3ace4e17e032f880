// Served at /assets/gatehouse.css: an external stylesheet, so the pages' CSP needs no
// 'unsafe-inline'. Colours meet WCAG 2.2 AA: text ≥ 4.5:1 (body 16:1, muted 7.5:1, links 6.7:1),
// borders and the focus ring ≥ 3:1. Every focusable element shows a 3px ring when focused.
export const stylesheet = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans KR","Apple SD Gothic Neo","Malgun Gothic",sans-serif;color:#1b1f24;background:#f3f4f6;word-break:keep-all;overflow-wrap:anywhere}
.card{max-width:26rem;margin:3rem auto 1rem;padding:2rem;background:#fff;border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.4rem;margin:0 0 1rem}
h2{font-size:1rem;margin:1.5rem 0 0}
p{margin:.5rem 0}
a{color:#1d4ed8;text-underline-offset:.15em}
label{display:block;margin:1rem 0 .25rem;font-weight:600}
label .muted{font-weight:400}
input[type=email],input[type=password],input[type=text]{width:100%;padding:.6rem;border:1px solid #6b7280;border-radius:.375rem;font:inherit}
input[aria-invalid=true]{border:2px solid #b91c1c}
input:focus-visible,button:focus-visible,a:focus-visible{outline:3px solid #2563eb;outline-offset:2px}
button{margin-top:1.25rem;width:100%;min-height:2.75rem;padding:.7rem;border:0;border-radius:.375rem;font:inherit;font-weight:600;cursor:pointer}
.primary{background:#1d4ed8;color:#fff}
.primary:hover{background:#1e40af}
.secondary{background:#e5e7eb;color:#1b1f24}
.secondary:hover{background:#d1d5db}
.error{padding:.75rem;border-radius:.375rem;background:#fee2e2;color:#7f1d1d;border-left:4px solid #b91c1c}
.notice{padding:.75rem;border-radius:.375rem;background:#dbeafe;color:#1e3a8a;border-left:4px solid #1d4ed8}
.hint{margin:.25rem 0 0;color:#4b5563;font-size:.9rem}
.alternative{margin-top:1.25rem;text-align:center}
.upstreams form button{margin-top:.75rem}
ul.scopes{padding-left:1.25rem}
input.code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:1.25rem;letter-spacing:.15em;text-transform:uppercase}
.user-code code{font-size:1.5rem;letter-spacing:.2em;word-break:normal}
.muted{color:#4b5563;font-size:.9rem}
.card.wide{max-width:44rem}
.account-section{border-top:1px solid #e5e7eb;margin-top:1.75rem;padding-top:.25rem}
.account-section h2{font-size:1.1rem}
.contents ul{display:flex;flex-wrap:wrap;gap:.25rem 1rem;padding:0;margin:.5rem 0 0;list-style:none}
.badge{display:inline-block;margin-left:.5rem;padding:0 .5rem;border-radius:1rem;font-size:.85rem;font-weight:600}
.badge.ok{background:#dcfce7;color:#14532d}
.badge.warn{background:#fef3c7;color:#78350f}
ul.items{padding:0;margin:.5rem 0 0;list-style:none}
ul.items>li{padding:.75rem 0;border-bottom:1px solid #e5e7eb}
ul.items>li:last-child{border-bottom:0}
ul.items h3{font-size:1rem;margin:0}
ul.items ul.scopes{margin:.25rem 0}
button.inline,a.button{display:inline-block;width:auto;margin-top:.5rem;padding:.6rem 1rem;min-height:2.75rem}
a.button{border-radius:.375rem;font-weight:600;text-decoration:none;text-align:center}
.danger{background:#b91c1c;color:#fff}
.danger:hover{background:#991b1b}
code{font-size:.85rem;word-break:break-all}
.languages ul{display:flex;justify-content:center;gap:.5rem;margin:0 auto 2rem;padding:0;list-style:none}
.languages a,.languages span{display:inline-block;padding:.35rem .6rem;border-radius:.375rem}
.languages span{font-weight:600}
@media (max-width:30rem){body{background:#fff}.card{margin:0;border-radius:0;padding:1.5rem 1.25rem;box-shadow:none}.languages{border-top:1px solid #e5e7eb}.languages ul{margin:.75rem auto}}
@media (forced-colors:active){button{border:1px solid ButtonText}}
`;

// A gate's arch on the primary blue.
export const favicon =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1d4ed8"/>' +
  '<path d="M9 26V15a7 7 0 0 1 14 0v11h-4V15a3 3 0 0 0-6 0v11z" fill="#fff"/></svg>';
