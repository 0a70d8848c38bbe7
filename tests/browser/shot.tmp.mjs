import { launch, serve } from "./browser.mjs";
const server = await serve(); const browser = await launch();
const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
await page.goto(`${server.url}${process.argv[2]}`);
if (process.argv[2].includes("bench")) await page.waitForFunction(() => window.benchResults, null, { timeout: 300000 });
else await page.waitForTimeout(1500);
await page.screenshot({ path: process.argv[3], fullPage: true });
await browser.close(); await server.close();
