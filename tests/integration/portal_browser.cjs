// The portal in headless Chromium (Debian's, driven by playwright-core), against a running
// connector whose client is sending traffic: signs in with the admin token, sees the exit node,
// waits for its chart to move, creates an exit node through the form and sees it appear, and saves
// a screenshot. Run by portal.sh: node portal_browser.cjs URL TOKEN SOCKET SCREENSHOT PROFILE_DIR
const { chromium } = require("playwright-core");

const [url, token, socket, screenshot, profile] = process.argv.slice(2);

function check(ok, what) {
  if (!ok) throw new Error(what);
  console.log(`ok: ${what}`);
}

(async () => {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1400, height: 1000 },
  });
  const page = context.pages()[0] || (await context.newPage());
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  // A request the connector refuses (401 before the token) is expected; anything else the
  // console reports as an error (a script or style the page's policy blocked) is not.
  page.on("console", (m) => { if (m.type() === "error" && !m.text().includes("401")) errors.push(m.text()); });
  const outside = [];
  page.on("request", (r) => { if (!r.url().startsWith(url)) outside.push(r.url()); });
  try {
    await page.goto(url, { waitUntil: "load" });
    // The connector asks for its token: the page asks the operator.
    await page.waitForSelector("#token-dialog[open]", { timeout: 10000 });
    await page.fill("#token-dialog input[name=token]", token);
    await page.click("#token-dialog button");
    const card = `article[data-socket="${socket}"]`;
    await page.waitForSelector(card, { timeout: 10000 });
    check(true, `the exit node ${socket} is shown`);
    const text = await page.textContent(card);
    check(text.includes("Exit node for all corporate traffic") && text.includes("connector-1"),
      "its card shows the description and the connector");
    await page.waitForFunction((sel) => document.querySelector(sel).textContent.includes("the internet, and 10.92.0.0/24"),
      card, { timeout: 15000 });
    check(true, "its card says what it reaches: the internet, and the network it allows");

    // The chart moves while traffic flows: what it plots grows between two looks.
    const plotted = () => page.$eval(`${card} .chart`, (c) => Number(c.getAttribute("data-rate-sum") || 0));
    await page.waitForFunction((sel) => Number(document.querySelector(sel).getAttribute("data-rate-sum") || 0) > 0,
      `${card} .chart`, { timeout: 20000 });
    const first = await plotted();
    await page.waitForFunction(([sel, before]) => Number(document.querySelector(sel).getAttribute("data-rate-sum")) > before,
      [`${card} .chart`, first], { timeout: 20000 });
    check(true, `the chart moves while traffic flows (${first} -> ${await plotted()})`);
    check(await page.$(`${card} .uplot canvas`) !== null, "the chart is drawn by uPlot");

    await page.waitForSelector('#clients tr[data-client="alice"]', { timeout: 15000 });
    check(true, "alice is listed among the connected clients");
    await page.waitForFunction(() => /of 9\.3 GiB \/ day/.test(document.querySelector('#clients tr[data-client="alice"] .quota').textContent),
      null, { timeout: 15000 });
    check(true, `her quota's use is shown: ${await page.textContent('#clients tr[data-client="alice"] .quota')}`);

    // Capture from her row and from the exit node's card: pressed again, the capture ends and the
    // browser downloads a pcapng file holding her packets.
    for (const [what, button] of [["alice", '#clients tr[data-client="alice"] button.capture'],
      [socket, `${card} button.capture`]]) {
      const download = page.waitForEvent("download", { timeout: 40000 });
      await page.click(button);
      await page.waitForFunction((sel) => Number(document.querySelector(sel).getAttribute("data-captured")) >= 4,
        button, { timeout: 20000 });
      await page.click(button);
      const saved = await download;
      const bytes = require("fs").readFileSync(await saved.path());
      let packets = 0;
      for (let at = 0; at + 8 <= bytes.length; at += bytes.readUInt32LE(at + 4)) {
        if (bytes.readUInt32LE(at + 4) < 12) break;
        if (bytes.readUInt32LE(at) === 6) ++packets;  // an enhanced packet block
      }
      check(bytes.readUInt32LE(0) === 0x0a0d0d0a && packets >= 4 && saved.suggestedFilename().endsWith(".pcapng"),
        `a capture of ${what} from the portal downloads as ${saved.suggestedFilename()}: pcapng, ${packets} packets`);
    }
    await page.waitForFunction(() => Number(document.querySelector("#graph").getAttribute("data-edges")) >= 1, null,
      { timeout: 10000 });
    check(await page.$("#graph canvas") !== null, "the access graph is drawn by Cytoscape.js");
    check((await page.textContent("#policies")).includes("staff-exit"), "the policy staff-exit is listed");

    // A new exit node from the form: written to the file and applied, so its card appears.
    await page.click("#new-socket-open");
    await page.fill("#new-socket input[name=name]", "home-exit");
    await page.fill("#new-socket input[name=description]", "Created from the portal");
    await page.fill("#new-socket input[name=connector]", "connector-1");
    await page.fill("#new-socket input[name=allow]", "10.20.0.0/16, fd20::/48");
    await page.click("#new-socket button[type=submit]");
    await page.waitForSelector("#new-socket-message.ok", { timeout: 15000 });
    await page.waitForSelector('article[data-socket="home-exit"]', { timeout: 15000 });
    check((await page.textContent('article[data-socket="home-exit"]')).includes("Created from the portal"),
      "an exit node created from the form appears with its description");
    await page.waitForFunction(() => document.querySelector('article[data-socket="home-exit"]').textContent
      .includes("the internet, and 10.20.0.0/16, fd20::/48"), null, { timeout: 15000 });
    check(true, "and reaches the networks typed into Also reaches");
    // Some history on the chart for the screenshot: a sample of the series and a live tail.
    await page.waitForFunction((sel) => Number(document.querySelector(sel).getAttribute("data-points")) >= 8,
      `${card} .chart`, { timeout: 30000 });
    await page.screenshot({ path: screenshot, fullPage: true });
    check(true, `screenshot saved: ${screenshot}`);
    check(errors.length === 0, `no script errors on the page${errors.length ? ": " + errors.join("; ") : ""}`);
    check(outside.length === 0, `nothing fetched from anywhere but the connector${outside.length ? ": " + outside.join(", ") : ""}`);
  } finally {
    await context.close();
  }
})().catch((e) => {
  console.error(`FAIL: ${e.message}`);
  process.exit(1);
});
