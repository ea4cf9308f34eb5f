import PointMeshCore
import PointMeshHTTP
import PointMeshJSON

/// `GET /`: HQ's dashboard, one self-contained page (no external assets: it works in a store
/// without internet). The page holds no data: it asks the API for everything with the token the
/// user gives it (kept for the browser tab only), so a caller without the `hq` role sees a token
/// prompt and nothing else. Each panel loads on its own and says when its figure is missing and
/// why; the page refreshes itself every 15 seconds. Charts are inline SVG.
enum Dashboard {
    static let refreshSeconds = 15

    static let response = HTTPResponse(status: 200, headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
                                       body: Array(html.utf8))

    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>PointMesh — HQ</title>
    <style>
      :root { --ink: #1d2330; --muted: #5b6474; --line: #d9dde5; --bg: #f5f6f8; --card: #fff; --accent: #2f6fde; --warn: #b4441c; --ok: #2b7a3d; }
      * { box-sizing: border-box; }
      body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
      header { display: flex; flex-wrap: wrap; gap: 12px 24px; align-items: center; padding: 14px 24px; background: var(--card); border-bottom: 1px solid var(--line); }
      header h1 { font-size: 22px; margin: 0; }
      header .meta { color: var(--muted); font-size: 14px; }
      form { margin-left: auto; display: flex; gap: 8px; align-items: center; font-size: 14px; }
      input { font: inherit; padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px; min-width: 14em; }
      button { font: inherit; padding: 6px 14px; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
      #notice { margin: 16px 24px 0; padding: 10px 14px; border-radius: 6px; background: #fff4e5; color: var(--warn); }
      #notice:empty { display: none; }
      main { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 520px), 1fr)); gap: 16px; padding: 16px 24px 32px; }
      section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 18px; min-width: 0; }
      h2 { font-size: 17px; margin: 0 0 10px; }
      table { width: 100%; border-collapse: collapse; font-size: 14px; }
      th, td { text-align: left; padding: 5px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
      th { color: var(--muted); font-weight: 600; }
      td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
      .figures { display: flex; flex-wrap: wrap; gap: 10px 28px; margin-bottom: 8px; }
      .figure b { display: block; font-size: 24px; font-variant-numeric: tabular-nums; }
      .figure span { color: var(--muted); font-size: 13px; }
      .missing { color: var(--warn); font-size: 14px; }
      .behind { color: var(--warn); font-weight: 600; }
      .fine { color: var(--ok); }
      svg { display: block; width: 100%; height: auto; margin-top: 8px; }
      svg text { font: 12px system-ui, sans-serif; fill: var(--muted); }
      .legend { font-size: 13px; color: var(--muted); }
      .swatch { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px; border-radius: 2px; }
    </style>
    </head>
    <body>
    <header>
      <h1>PointMesh HQ</h1>
      <span class="meta" id="node">node: …</span>
      <span class="meta" id="updated">not loaded yet</span>
      <form id="token-form">
        <label for="token">HQ token</label>
        <input id="token" type="password" autocomplete="off" placeholder="Bearer token (hq or admin)">
        <button type="submit">Use</button>
      </form>
    </header>
    <p id="notice" role="status"></p>
    <main>
      <section id="nodes"><h2>Nodes</h2><div class="body"></div></section>
      <section id="liability"><h2>Liability</h2><div class="body"></div></section>
      <section id="activity"><h2>Activity, last 30 days</h2><div class="body"></div></section>
      <section id="campaigns"><h2>Campaigns in force</h2><div class="body"></div></section>
      <section id="actions"><h2>Recent fraud actions and compensations</h2><div class="body"></div></section>
      <section id="reminders"><h2>Reminders due this week</h2><div class="body"></div></section>
    </main>
    <script>
    "use strict";
    const REFRESH_SECONDS = \#(refreshSeconds);
    const DAY = 86400000;
    const errors = [];
    window.addEventListener("error", (event) => { errors.push(String(event.message)); document.body.dataset.errors = errors.join(" | "); });
    window.addEventListener("unhandledrejection", (event) => { errors.push(String(event.reason)); document.body.dataset.errors = errors.join(" | "); });

    // The token: from the tab's storage, or once from the address's fragment (#token=…, never sent to the node).
    let token = sessionStorage.getItem("pointmesh-token") || "";
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (fragment.get("token")) {
      token = fragment.get("token");
      sessionStorage.setItem("pointmesh-token", token);
      history.replaceState(null, "", location.pathname);
    }
    document.getElementById("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      token = document.getElementById("token").value.trim();
      sessionStorage.setItem("pointmesh-token", token);
      document.getElementById("token").value = "";
      refresh();
    });

    class Refused extends Error {}

    async function api(path) {
      const response = await fetch(path, { headers: token ? { Authorization: "Bearer " + token } : {}, cache: "no-store" });
      let body = null;
      try { body = await response.json(); } catch (_) { body = null; }
      if (response.status === 401 || response.status === 403) {
        throw new Refused(body && body.error ? body.error.message : "this needs an hq or admin token");
      }
      if (!response.ok) throw new Error(body && body.error ? body.error.code + ": " + body.error.message : "HTTP " + response.status);
      return body;
    }

    function element(tag, attributes, ...children) {
      const node = document.createElement(tag);
      for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
      for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
      return node;
    }

    function table(headers, rows, numeric) {
      const head = element("tr", {}, ...headers.map((h, i) => element("th", numeric && numeric.includes(i) ? { class: "number" } : {}, h)));
      const body = rows.map((row) => element("tr", {}, ...row.map((cell, i) =>
        cell instanceof Node ? element("td", {}, cell) : element("td", numeric && numeric.includes(i) ? { class: "number" } : {}, cell))));
      return element("table", {}, element("thead", {}, head), element("tbody", {}, ...body));
    }

    function figure(value, label) { return element("div", { class: "figure" }, element("b", {}, value), element("span", {}, label)); }
    function points(n) { return (n === null || n === undefined) ? "—" : Number(n).toLocaleString("en-US"); }
    function ago(seconds) {
      if (seconds === null || seconds === undefined) return "unknown";
      if (seconds < 120) return seconds + " s";
      if (seconds < 7200) return Math.round(seconds / 60) + " min";
      if (seconds < 172800) return Math.round(seconds / 3600) + " h";
      return Math.round(seconds / 86400) + " days";
    }

    // A bar chart: one group per label, one bar per series, drawn as inline SVG.
    function barChart(name, labels, series) {
      const ns = "http://www.w3.org/2000/svg";
      const width = 640, height = 220, left = 56, bottom = 34, top = 10;
      const svg = document.createElementNS(ns, "svg");
      svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
      svg.setAttribute("role", "img");
      svg.setAttribute("data-chart", name);
      svg.setAttribute("aria-label", name + ": " + series.map((s) => s.name).join(", "));
      const max = Math.max(1, ...series.flatMap((s) => s.values));
      const plotWidth = width - left - 8, plotHeight = height - bottom - top;
      const group = plotWidth / Math.max(1, labels.length), bar = Math.max(1, (group * 0.8) / series.length);
      const shape = (tag, attributes) => { const node = document.createElementNS(ns, tag); for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v); svg.append(node); return node; };
      shape("line", { x1: left, y1: top + plotHeight, x2: width - 8, y2: top + plotHeight, stroke: "#d9dde5" });
      for (const fraction of [0, 0.5, 1]) {
        const label = shape("text", { x: left - 6, y: top + plotHeight - fraction * plotHeight + 4, "text-anchor": "end" });
        label.textContent = Math.round(max * fraction).toLocaleString("en-US");
      }
      labels.forEach((text, i) => {
        series.forEach((s, j) => {
          const value = s.values[i] || 0, h = (value / max) * plotHeight;
          const rect = shape("rect", { x: left + i * group + group * 0.1 + j * bar, y: top + plotHeight - h, width: Math.max(1, bar - 1), height: Math.max(0, h), fill: s.color });
          const title = document.createElementNS(ns, "title"); title.textContent = `${text} ${s.name}: ${points(value)}`; rect.append(title);
        });
        const every = Math.ceil(labels.length / 8);
        if (i % every === 0) {
          const label = shape("text", { x: left + i * group + group / 2, y: height - 12, "text-anchor": "middle" });
          label.textContent = text;
        }
      });
      const legend = element("div", { class: "legend" }, ...series.flatMap((s) => [element("span", { class: "swatch", style: `background:${s.color}` }), s.name]));
      return [svg, legend];
    }

    function show(id, ...content) {
      const body = document.querySelector(`#${id} .body`);
      body.replaceChildren(...content);
    }
    function missing(id, why) { show(id, element("p", { class: "missing" }, "Missing: " + why)); }

    async function loadNodes(liability) {
      const status = await api("/v1/status");
      document.getElementById("node").textContent = `node ${status.node_id} (${status.role}), release ${status.version}, ${points(status.entries)} entries`;
      const freshness = new Map((liability ? liability.freshness : []).map((row) => [row.node_id, row]));
      const own = freshness.get(status.node_id);
      const newest = (row) => row && row.newest_entry_at ? row.newest_entry_at.slice(0, 19).replace("T", " ") : "none";
      const rows = [[status.node_id, "this node", "—", newest(own), status.healthy ? "healthy" : element("span", { class: "behind" }, "storage failing: " + status.storage_error)]];
      for (const peer of status.peers) {
        const fresh = freshness.get(peer.node_id);
        const state = element("span", { class: peer.state === "alive" ? "fine" : "behind" }, peer.state === "alive" ? "reachable" : "unreachable (" + peer.state + ")");
        const behind = fresh ? (fresh.behind ? element("span", { class: "behind" }, "behind, complete " + ago(fresh.behind_seconds) + " ago") : "up to date") : "unknown";
        rows.push([peer.node_id, state, peer.lag_entries === undefined ? "unknown" : points(peer.lag_entries), newest(fresh), behind]);
      }
      show("nodes", table(["Node", "Contact", "Lag (entries it lacks)", "Newest entry held", "Freshness"], rows, [2]),
           status.retired.length ? element("p", {}, "Retired: " + status.retired.join(", ")) : "");
    }

    function showLiability(report) {
      const o = report.outstanding;
      const figures = element("div", { class: "figures" },
        figure(points(o.points), "points outstanding"), figure(points(o.pool_points), "of them in family pools"),
        figure(points(o.green_points), "of them green"), figure(points(o.pending_points), "pending"), figure(points(o.debt_points), "debt owed back"));
      const value = report.value
        ? element("p", {}, `Value: ${points(report.value.liability_fen / 100)} yuan after expected breakage ${report.value.breakage_rate === null ? "(none measured yet)" : (Number(report.value.breakage_rate) * 100).toFixed(1) + "%"}.`)
        : element("p", { class: "missing" }, "Missing: no point value published yet (PUT /v1/point-value), so no liability in money.");
      const stores = report.by_store;
      const behind = report.freshness.filter((row) => row.behind).map((row) => row.node_id);
      show("liability", figures, value,
        ...barChart("liability-by-store", stores.map((s) => s.store), [{ name: "points", color: "#2f6fde", values: stores.map((s) => s.points) }, { name: "green", color: "#3a9a55", values: stores.map((s) => s.green_points) }]),
        ...barChart("expiry-schedule", report.expiry_schedule.map((m) => m.month), [{ name: "points expiring", color: "#c9822b", values: report.expiry_schedule.map((m) => m.points) }]),
        behind.length ? element("p", { class: "behind" }, "May lack the entries of: " + behind.join(", ")) : element("p", { class: "fine" }, "Every store's entries are here."));
    }

    async function loadActivity(asOf) {
      const to = new Date(Date.parse(asOf) + 1).toISOString(), from = new Date(Date.parse(asOf) - 30 * DAY).toISOString();
      const report = await api(`/v1/reports/activity?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&by=day`);
      // Every day of the 30, quiet ones too, so the axis is time.
      const byDay = new Map(report.rows.map((row) => [row.key, row]));
      const keys = Array.from({ length: 31 }, (_, i) => new Date(Date.parse(from) + i * DAY).toISOString().slice(0, 10));
      const rows = keys.map((key) => byDay.get(key) || { key, issued: 0, redeemed: 0, expired: 0 });
      const days = rows.map((row) => row.key.slice(5));
      const total = report.total;
      show("activity", element("div", { class: "figures" },
          figure(points(total.issued), "issued"), figure(points(total.redeemed), "redeemed"), figure(points(total.expired), "expired"),
          figure(points(total.refunded), "refunded"), figure(points(total.compensated), "compensated"), figure(points(total.deducted), "deducted")),
        ...barChart("activity-by-day", days, [
          { name: "issued", color: "#2f6fde", values: rows.map((r) => r.issued) },
          { name: "redeemed", color: "#c9822b", values: rows.map((r) => r.redeemed) },
          { name: "expired", color: "#9aa3b2", values: rows.map((r) => r.expired) }]),
        report.budgets.length ? table(["Month", "Budget", "Points", "Used"], report.budgets.map((b) => [b.month, b.scope, points(b.points), points(b.used)]), [2, 3]) : "");
    }

    async function loadCampaigns(asOf) {
      const now = Date.parse(asOf);
      const answer = await api("/v1/campaigns");
      const live = answer.campaigns.filter((c) => Date.parse(c.starts_at) <= now && now < Date.parse(c.ends_at) && (c.withdrawn_at === null || Date.parse(c.withdrawn_at) > now));
      show("campaigns", live.length
        ? table(["Campaign", "Effect", "Where", "Ends"], live.map((c) => [c.name + " (" + c.campaign_id + ")", c.multiplier ? "×" + c.multiplier : "+" + c.bonus_points + " points", (c.stores.length ? c.stores.join(", ") : "every store") + (c.categories.length ? "; " + c.categories.join(", ") : ""), c.ends_at.slice(0, 10)]))
        : element("p", {}, "No campaign in force."));
    }

    async function loadActions() {
      const end = Number((await api("/v1/feed?limit=1")).end);
      const page = await api(`/v1/feed?after=${Math.max(0, end - 2000)}&limit=2000`);
      const kinds = new Set(["freeze", "unfreeze", "deduct", "compensation"]);
      const recent = page.entries.filter((e) => kinds.has(e.kind)).slice(-15).reverse();
      show("actions", recent.length
        ? table(["When", "What", "Accounts", "Why", "By"], recent.map((e) => [e.created_at.slice(0, 16).replace("T", " "), e.kind + (e.points ? " " + points(e.points) : ""), (e.accounts || []).join(", ") || (e.accounts_affected ? e.accounts_affected + " accounts" : "—"), e.reason || "—", e.operator || e.reference || e.made_by || "—"]))
        : element("p", {}, "None among the latest 2,000 entries."));
    }

    async function loadReminders() {
      const answer = await api("/v1/reminders?within_days=7&limit=1000");
      const total = answer.reminders.reduce((sum, r) => sum + r.points, 0);
      if (!answer.reminders.length) return show("reminders", element("p", {}, "Nobody has points expiring in the next 7 days."));
      show("reminders",
        element("div", { class: "figures" }, figure(points(answer.reminders.length) + (answer.next_cursor ? "+" : ""), "reminders to send"), figure(points(total), "points expiring")),
        table(["Account", "Points", "Expire"], answer.reminders.slice(0, 10).map((r) => [r.account_id, points(r.points), r.expires_at.slice(0, 16).replace("T", " ")]), [1]));
    }

    async function panel(id, load) {
      try { await load(); return true; } catch (error) {
        if (error instanceof Refused) throw error;
        missing(id, error.message || String(error));
        return false;
      }
    }

    async function refresh() {
      const notice = document.getElementById("notice");
      let liability = null;
      try {
        try { liability = await api("/v1/reports/liability"); showLiability(liability); } catch (error) {
          if (error instanceof Refused) throw error;
          missing("liability", error.message);
        }
        const asOf = liability ? liability.as_of : new Date().toISOString();
        await Promise.all([panel("nodes", () => loadNodes(liability)), panel("activity", () => loadActivity(asOf)),
          panel("campaigns", () => loadCampaigns(asOf)), panel("actions", loadActions), panel("reminders", loadReminders)]);
        notice.textContent = "";
        document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString() + ", every " + REFRESH_SECONDS + " s";
      } catch (error) {
        for (const id of ["nodes", "liability", "activity", "campaigns", "actions", "reminders"]) show(id, element("p", { class: "missing" }, "Give an hq token to see this."));
        if (error instanceof Refused) {
          notice.textContent = (token ? "The token was refused: " : "This node asks for a token: ") + error.message + ". Enter an hq or admin token above.";
        } else {
          notice.textContent = "The node can't be reached: " + (error.message || error) + ". Retrying every " + REFRESH_SECONDS + " s.";
        }
      }
    }

    // The next round starts a while after this one ends, never on top of a slow one.
    async function rounds() {
      await refresh();
      setTimeout(rounds, REFRESH_SECONDS * 1000);
    }
    rounds();
    </script>
    </body>
    </html>
    """#
}

extension Endpoint {
    static let dashboard = Endpoint(
        "GET", "/", access: .page, operationID: "getDashboard",
        summary: "HQ's dashboard: one self-contained HTML page (no external assets) that asks the API, with the hq token the user gives it, for the nodes and their freshness, the liability and the last 30 days' activity as charts, campaigns in force, recent fraud actions and compensations, and reminders due this week. The page holds no data itself.",
        answer: .document(mediaType: "text/html", description: "The dashboard page.", schema: .object(["type": .string("string")])),
        handler: .read { _, _, _ in Dashboard.response })
}
