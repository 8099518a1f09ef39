// The console keeps no credential (issue 9, finding 2): signing in leaves nothing in
// the page's storage, the session cookie is out of scripts' reach, a reload stays signed
// in, signing out ends the session on the server; and the console's files carry security
// headers under which it still runs without a single policy violation.
import assert from "node:assert/strict";
import { test } from "node:test";
import { signIn, useWorkerAndBrowser } from "../support/browser.mjs";
import { ADMIN } from "../support/secrets.mjs";

const env = useWorkerAndBrowser();

test("sign in, reload, sign out: no password or session secret ever within reach of the page", async () => {
  const page = await env.browser.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/.test(m.text())) problems.push(m.text());
  });
  await signIn(page, env.worker.url, ADMIN.username, ADMIN.password);
  const kept = await page.evaluate(() => ({
    session: JSON.stringify({ ...sessionStorage }),
    local: JSON.stringify({ ...localStorage }),
    cookies: document.cookie,
  }));
  assert.equal(kept.session, "{}");
  assert.equal(kept.local, "{}");
  assert.ok(!kept.cookies.includes("tessera_session"), "HttpOnly: scripts cannot read it");
  assert.ok(!(await page.content()).includes(ADMIN.password));
  const cookies = await page.context().cookies(`${env.worker.url}/api/me`);
  const session = cookies.find((c) => c.name === "tessera_session");
  assert.ok(session, "the browser holds the session");
  assert.deepEqual([session.httpOnly, session.secure, session.sameSite, session.path], [true, true, "Strict", "/api"]);

  await page.reload();
  await page.getByTestId("signed-in-as").waitFor();
  assert.equal(await page.getByTestId("signed-in-as").textContent(), ADMIN.username);

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("link", { name: "Sign in", exact: true }).waitFor();
  const after = await page.evaluate(async () => (await fetch("/api/me")).status);
  assert.equal(after, 401, "the session ended on the server");
  // The old cookie value, replayed, does not work either.
  const replay = await fetch(`${env.worker.url}/api/me`, { headers: { Cookie: `tessera_session=${session.value}` } });
  assert.equal(replay.status, 401);
  assert.deepEqual(problems, []);
});

test("the console's files carry security headers", async () => {
  for (const path of ["/", "/sign-in", "/boot.js", "/style.css"]) {
    const res = await fetch(`${env.worker.url}${path}`);
    assert.equal(res.status, 200, path);
    const csp = res.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/, path);
    assert.ok(!csp.includes("unsafe-inline"), `${path}: no inline script or style`);
    assert.match(csp, /frame-ancestors 'none'/, path);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff", path);
    assert.equal(res.headers.get("referrer-policy"), "no-referrer", path);
  }
  const html = await (await fetch(`${env.worker.url}/`)).text();
  assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/.test(html), "no inline script in index.html");
});
