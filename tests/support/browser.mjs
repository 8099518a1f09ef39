// Headless Debian Chromium driven by playwright-core (Playwright cannot download its
// own browser here). The flags keep Chromium off the closed network.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before } from "node:test";
import { chromium } from "playwright-core";
import { ROOT, startWorker } from "./wrangler.mjs";

export const ARTIFACTS = process.env.TESSERA_ARTIFACTS ?? join(ROOT, "tests/artifacts");

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Save a screenshot under tests/artifacts and return its path. */
export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * For a browser test file: start a worker and Chromium before its tests, stop both
 * after. Returns an object whose `worker` and `browser` are set once started.
 */
export function useWorkerAndBrowser() {
  const env = {};
  before(async () => {
    env.worker = await startWorker();
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.worker?.stop();
  });
  return env;
}

/** Sign in through the console's form and wait until it has. */
export async function signIn(page, baseUrl, username, password) {
  await page.goto(`${baseUrl}/sign-in`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("signed-in-as").waitFor();
}
