// Swagger UI in a real browser: Debian's Chromium, driven by playwright-core, opens /swagger-ui/,
// authorises with a bearer token, executes GET /v1/me and reads the 200 answer from the page, then
// saves a screenshot of the executed call.
//
// Environment: PORTCULLIS_URL, ADMIN_TOKEN, ADMIN_EMAIL, SCREENSHOT (the PNG to write),
// CHROMIUM (default /usr/bin/chromium).

import { chromium } from "playwright-core";

function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const base = env("PORTCULLIS_URL");
const screenshot = env("SCREENSHOT");
const browser = await chromium.launch({
  executablePath: env("CHROMIUM", "/usr/bin/chromium"),
  headless: true,
  // This machine has no network but loopback: keep Chromium from calling home at start.
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const outside: string[] = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(base) && !request.url().startsWith("data:")) outside.push(request.url());
  });
  // The server's Content-Security-Policy must let Swagger UI work: any violation fails the test.
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/Content.Security.Policy/i.test(message.text())) violations.push(message.text());
  });
  page.on("pageerror", (error) => violations.push(String(error)));

  await page.goto(`${base}/swagger-ui/`);
  const operation = page.locator("#operations-me-get_me");
  await operation.waitFor({ timeout: 30_000 });
  console.log("ok  Swagger UI rendered the spec");

  await page.getByRole("button", { name: "Authorize" }).first().click();
  const dialog = page.locator(".dialog-ux .modal-ux");
  await dialog.locator("input[type=text], input[type=password]").first().fill(env("ADMIN_TOKEN"));
  // Swagger UI's own buttons in the dialog (their accessible names are "Apply credentials", "Close").
  await dialog.locator("button.modal-btn.authorize").click();
  await dialog.locator("button.modal-btn.auth", { hasText: "Logout" }).waitFor();
  await dialog.locator("button.modal-btn.btn-done").click();
  console.log("ok  authorised with the bearer token");

  await operation.locator(".opblock-summary").first().click();
  await operation.getByRole("button", { name: "Try it out" }).click();
  await operation.getByRole("button", { name: "Execute" }).click();

  const live = operation.locator(".live-responses-table");
  const status = live.locator("tbody tr.response td.response-col_status").first();
  await status.waitFor({ timeout: 30_000 });
  const code = (await status.innerText()).trim();
  const body = await live.locator("tbody tr.response .response-col_description pre").first().innerText();
  if (code !== "200") throw new Error(`GET /v1/me answered ${code} in Swagger UI: ${body}`);
  const user = JSON.parse(body) as { email?: unknown; is_admin?: unknown };
  if (user.email !== env("ADMIN_EMAIL") || user.is_admin !== true) {
    throw new Error(`GET /v1/me in Swagger UI returned another user: ${body}`);
  }
  console.log(`ok  Swagger UI executed GET /v1/me: HTTP ${code} for ${user.email}`);
  if (outside.length > 0) throw new Error(`Swagger UI loaded resources from elsewhere: ${outside.join(", ")}`);
  if (violations.length > 0) throw new Error(`Swagger UI hit the Content-Security-Policy: ${violations.join("; ")}`);
  console.log("ok  no Content-Security-Policy violation");

  await live.scrollIntoViewIfNeeded();
  await operation.screenshot({ path: screenshot });
  console.log(`screenshot: ${screenshot}`);
} finally {
  await browser.close();
}
