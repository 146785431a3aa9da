/**
 * The hosted checkout page's HTML: plain forms, no script, so it works in any browser, a headless one and a
 * text one alike. Every value is escaped: merchant text (subjects, descriptions) reaches this page.
 */

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

export interface CheckoutPageContent {
  title: string;
  /** Label and value rows: merchant, amount, status... */
  lines: Array<[string, string]>;
  /** Shown above the rows, e.g. "Paid" after the buyer paid. */
  notice?: string;
  /** Form targets, relative to the page's own URL; no buttons when absent. */
  actions?: { pay: string; decline: string; payLabel: string };
  /** A link back to the merchant. */
  back?: string;
}

export function checkoutPage(p: CheckoutPageContent): string {
  const rows = p.lines.map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td data-field="${escapeHtml(k.toLowerCase())}">${escapeHtml(v)}</td></tr>`).join('\n');
  const forms = p.actions
    ? `<div class="actions">
<form method="post" action="${escapeHtml(p.actions.pay)}"><button type="submit" id="pay">${escapeHtml(p.actions.payLabel)}</button></form>
<form method="post" action="${escapeHtml(p.actions.decline)}"><button type="submit" id="decline">Decline</button></form>
</div>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(p.title)}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 2rem auto; padding: 0 1rem; color: #1d2430; }
h1 { font-size: 1.3rem; } .sandbox { color: #8a5a00; font-size: .85rem; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; } th, td { text-align: left; padding: .4rem .2rem; border-bottom: 1px solid #dde2ea; }
th { font-weight: 500; color: #5a6475; width: 40%; } .notice { padding: .6rem; background: #eef6ee; border: 1px solid #b6dab6; }
.actions { display: flex; gap: 1rem; } button { font-size: 1rem; padding: .6rem 1.4rem; border-radius: .3rem; border: 1px solid #888; cursor: pointer; }
#pay { background: #1667d9; color: #fff; border-color: #1667d9; } #decline { background: #fff; }
</style>
</head>
<body>
<p class="sandbox">orderworks sandbox: no real money moves</p>
<h1>${escapeHtml(p.title)}</h1>
${p.notice ? `<p class="notice" id="notice">${escapeHtml(p.notice)}</p>` : ''}
<table>
${rows}
</table>
${forms}
${p.back ? `<p><a href="${escapeHtml(p.back)}" id="back">Back to the shop</a></p>` : ''}
</body>
</html>
`;
}
