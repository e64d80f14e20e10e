package canary.cli;

/**
 * The live page {@code status.java --serve} serves: plain HTML, CSS and a small script, in this text block so that every
 * script gets it through {@code //SOURCES} (no resource file, no build step, nothing fetched from the internet). The script
 * polls {@code /api/status} every second and draws its charts as inline SVG. Elements the tests read: {@code #phase},
 * {@code #share}, {@code #health}, {@code #updated}; with actions allowed, {@code #pause} or {@code #resume} shows.
 */
final class LivePage {

    private LivePage() {
    }

    static final String HTML = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>canary-router: live release</title>
            <style>
              :root { --fg: #1d2330; --muted: #667085; --line: #d0d5dd; --legacy: #2f6fde; --new: #e8590c; --ok: #127a3b; --bad: #c01c28; }
              * { box-sizing: border-box; }
              body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: #f6f7f9; }
              header { padding: 14px 24px; background: #fff; border-bottom: 1px solid var(--line); display: flex; flex-wrap: wrap; gap: 8px 28px; align-items: baseline; }
              header h1 { font-size: 18px; margin: 0 12px 0 0; }
              .big { font-size: 22px; font-weight: 600; }
              .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; margin-right: 6px; }
              .pill { padding: 2px 10px; border-radius: 999px; color: #fff; font-weight: 600; }
              .healthy { background: var(--ok); } .degraded { background: var(--bad); } .no-migration { background: var(--muted); }
              main { padding: 16px 24px; display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 16px; }
              section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; min-width: 0; }
              section h2 { font-size: 14px; margin: 0 0 8px; }
              table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
              th { text-align: left; color: var(--muted); font-size: 11px; text-transform: uppercase; font-weight: 600; border-bottom: 1px solid var(--line); padding: 4px 6px; }
              td { padding: 3px 6px; border-bottom: 1px solid #eef0f3; vertical-align: top; }
              td.n { text-align: right; }
              tr.current td { background: #fff4e6; font-weight: 600; }
              svg { width: 100%; height: 180px; display: block; }
              .legend span { margin-right: 14px; } .legend i { display: inline-block; width: 12px; height: 3px; margin-right: 4px; vertical-align: middle; }
              .problems { color: var(--bad); margin: 0; padding-left: 18px; }
              .muted { color: var(--muted); }
              #actions button { font: inherit; padding: 6px 14px; margin-right: 8px; border-radius: 6px; border: 1px solid var(--line); background: #fff; cursor: pointer; }
              #actions button.danger { border-color: var(--bad); color: var(--bad); }
              #actions input { font: inherit; padding: 5px 8px; width: 300px; border: 1px solid var(--line); border-radius: 6px; }
              .wide { grid-column: 1 / -1; }
            </style>
            </head>
            <body>
            <header>
              <h1 id="context">canary-router</h1>
              <div><span class="label">phase</span><span id="phase" class="big">…</span></div>
              <div><span class="label">share to new</span><span id="share" class="big">…</span></div>
              <div><span class="label">status</span><span id="health" class="pill no-migration">…</span></div>
              <div class="muted">updated <span id="updated">never</span></div>
            </header>
            <main>
              <section id="problems-box" class="wide" hidden><h2>Problems</h2><ul id="problems" class="problems"></ul></section>
              <section><h2>Share over time</h2><svg id="share-chart" viewBox="0 0 600 180" preserveAspectRatio="none"></svg>
                <div class="muted" id="share-note"></div></section>
              <section><h2>Routed records per version</h2><svg id="routed-chart" viewBox="0 0 600 180" preserveAspectRatio="none"></svg>
                <div class="legend"><span><i style="background:var(--legacy)"></i>legacy</span><span><i style="background:var(--new)"></i>new</span>
                <span class="muted" id="routed-note"></span></div></section>
              <section><h2>Lag per version and partition</h2><table id="partitions"></table></section>
              <section><h2>Router instances and versions</h2><div id="routers"></div></section>
              <section><h2>Rollout plan</h2><div id="plan" class="muted">no rollout plan in the context</div></section>
              <section id="actions-box" hidden><h2>Actions</h2><div id="actions">
                <p><input id="token" type="password" placeholder="token printed by status.java --allow-actions" autocomplete="off"></p>
                <button id="promote">Promote</button><button id="rollback" class="danger">Roll back</button><button id="pause" hidden>Pause</button><button id="resume" hidden>Resume</button>
                <pre id="action-result" class="muted"></pre></div></section>
              <section class="wide"><h2>History</h2><table id="history"></table></section>
            </main>
            <script>
            "use strict";
            const $ = id => document.getElementById(id);
            const pct = s => s == null ? "–" : (Math.round(s * 10000) / 100) + " %";
            const esc = v => String(v == null ? "–" : v).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
            const dur = s => s >= 3600 ? Math.floor(s / 3600) + "h" + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + "m"
                : s >= 60 ? Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s" : s + "s";
            function table(el, head, rows) {
              el.innerHTML = "<tr>" + head.map(h => "<th>" + esc(h) + "</th>").join("") + "</tr>" + rows.join("");
            }
            function line(points, x0, x1, y1, color, step) {
              if (points.length === 0) return "";
              const X = t => 40 + (x1 === x0 ? 540 : (t - x0) / (x1 - x0) * 540), Y = v => 160 - (y1 === 0 ? 0 : v / y1 * 145);
              let d = "";
              points.forEach((p, i) => {
                if (i === 0) d += "M" + X(p[0]) + "," + Y(p[1]);
                else { if (step) d += "L" + X(p[0]) + "," + Y(points[i - 1][1]); d += "L" + X(p[0]) + "," + Y(p[1]); }
              });
              return '<path d="' + d + '" fill="none" stroke="' + color + '" stroke-width="2" vector-effect="non-scaling-stroke"/>';
            }
            function axes(y1, label, x0, x1) {
              const t = ms => new Date(ms).toISOString().substring(11, 19);
              return '<line x1="40" y1="160" x2="580" y2="160" stroke="#d0d5dd"/><line x1="40" y1="15" x2="40" y2="160" stroke="#d0d5dd"/>'
                + '<text x="36" y="19" font-size="11" text-anchor="end" fill="#667085">' + esc(label(y1)) + '</text>'
                + '<text x="36" y="160" font-size="11" text-anchor="end" fill="#667085">' + esc(label(0)) + '</text>'
                + '<text x="40" y="176" font-size="11" fill="#667085">' + t(x0) + '</text>'
                + '<text x="580" y="176" font-size="11" text-anchor="end" fill="#667085">' + t(x1) + ' UTC</text>';
            }
            function render(d) {
              $("context").textContent = "canary-router · " + d.context + " (topic " + d.topic + ")";
              $("phase").textContent = d.phase || "no migration";
              $("share").textContent = d.share == null ? "–" : pct(d.share);
              $("health").textContent = d.status;
              $("health").className = "pill " + d.status;
              $("updated").textContent = (d.sampled_at || "").replace("T", " ").replace(/\\.\\d+Z$/, "Z") + (d.sample_error ? " (last measure failed: " + d.sample_error + ")" : "");
              document.title = (d.phase || "no migration") + " " + pct(d.share) + " · " + d.context;
              const problems = d.problems || [];
              $("problems-box").hidden = problems.length === 0;
              $("problems").innerHTML = problems.map(p => "<li>" + esc(p) + "</li>").join("");

              const now = Date.parse(d.sampled_at || new Date().toISOString());
              const shares = (d.share_over_time || []).map(s => [Date.parse(s.time), s.share]);
              if (shares.length) shares.push([now, shares[shares.length - 1][1]]);
              const sx0 = shares.length ? shares[0][0] : now;
              $("share-chart").innerHTML = axes(1, v => pct(v), sx0, now) + line(shares, sx0, now, 1, "var(--new)", true);
              $("share-note").textContent = shares.length ? (shares.length - 1) + " change(s) of the state since " + new Date(sx0).toISOString() : "no history";

              const routed = (d.routed_over_time || []).map(s => [Date.parse(s.time), s.routed_to_legacy, s.routed_to_new]);
              const rx0 = routed.length ? routed[0][0] : now, rx1 = routed.length ? routed[routed.length - 1][0] : now;
              const rmax = Math.max(1, ...routed.map(r => Math.max(r[1], r[2])));
              $("routed-chart").innerHTML = axes(rmax, v => String(v), rx0, rx1) + line(routed.map(r => [r[0], r[1]]), rx0, rx1, rmax, "var(--legacy)")
                + line(routed.map(r => [r[0], r[2]]), rx0, rx1, rmax, "var(--new)");
              const last = routed[routed.length - 1];
              $("routed-note").textContent = last ? "now: legacy " + last[1] + ", new " + last[2] + " (" + routed.length + " samples, every " + d.interval_seconds + " s)" : "sampled while routing";

              table($("partitions"), ["partition", "router lag", "legacy lag", "new lag", "routed to legacy", "routed to new"],
                (d.partitions || []).map(p => "<tr><td>" + p.partition + "</td><td class=n>" + esc(p.router_lag) + "</td><td class=n>" + esc(p.legacy_lag)
                  + "</td><td class=n>" + esc(p.new_lag) + "</td><td class=n>" + esc(p.routed_to_legacy) + "</td><td class=n>" + esc(p.routed_to_new) + "</td></tr>"));

              const inst = d.router_instances || [];
              const vm = d.version_members || {};
              $("routers").innerHTML = (d.router_running == null ? "" : "<p>run flag " + (d.router_running ? "on" : "off") + ", " + inst.length + " instance(s)</p>")
                + (inst.length ? "<table><tr><th>instance</th><th>host</th><th>partitions</th></tr>" + inst.map(m => "<tr><td>" + esc(m.client_id) + "</td><td>"
                  + esc(m.host) + "</td><td>" + esc((m.partitions || []).join(", ")) + "</td></tr>").join("") + "</table>" : "")
                + "<p>legacy " + esc(d.legacy_group) + ": " + esc(vm.legacy) + " member(s) · new " + esc(d.new_group) + ": " + esc(vm["new"]) + " member(s)</p>"
                + (d.last_check ? "<p>last check_data " + (d.last_check.clean ? "clean" : "<b>MISMATCH</b>") + " at " + esc(d.last_check.at) + "</p>" : "");

              const plan = d.plan;
              if (plan && plan.error) { $("plan").textContent = plan.error; }
              else if (plan) {
                const g = d.last_gate;
                $("plan").innerHTML = "<table><tr><th>step</th><th>what</th><th>hold</th></tr>" + plan.steps.map(s => "<tr" + (s.step === plan.current_step ? ' class="current"' : "")
                    + "><td>" + s.step + (s.step === plan.current_step ? " ◀" : "") + "</td><td>" + esc(s.describe) + "</td><td>" + esc(s.hold || "") + "</td></tr>").join("") + "</table>"
                  + (plan.paused ? '<p id="paused"><b>paused</b> by ' + esc(plan.paused_by) + " at " + esc(plan.paused_at) + ": rollout.java runs change nothing until resumed</p>" : "")
                  + "<p>" + (plan.current_step == null ? "not routing" : "at step " + plan.current_step + (plan.on_plan ? "" : " (share set outside the plan)")
                    + (plan.hold_left_seconds == null ? "" : ", hold left " + dur(plan.hold_left_seconds))) + "; on failure " + esc(plan.on_failure) + "</p>"
                  + "<p>gates:</p><ul>" + plan.gates.map(x => "<li>" + esc(x) + "</li>").join("") + "</ul>"
                  + "<p>last gate result: " + (g ? (g.passed ? "passed at " + esc(g.at) + " (step " + (g.step + 1) + "): " + esc(g.reason)
                    : "<b>gate " + esc(g.gate) + " failed</b> at " + esc(g.at) + " (step " + (g.step + 1) + "): " + esc(g.reason)) : "none yet") + "</p>";
              }
              $("actions-box").hidden = !d.actions_allowed;
              const paused = !!(plan && plan.paused);
              $("pause").hidden = !d.actions_allowed || paused || d.phase !== "routing";
              $("resume").hidden = !d.actions_allowed || !paused;
              table($("history"), ["time", "user", "host", "command", "change", "share"], (d.history || []).slice().reverse().map(h => "<tr><td>" + esc(h.at)
                + "</td><td>" + esc(h.user) + "</td><td>" + esc(h.host) + "</td><td>" + esc(h.command) + "</td><td>" + esc(h.what) + "</td><td class=n>"
                + (h.share == null ? "" : pct(h.share)) + "</td></tr>"));
            }
            async function poll() {
              try {
                const r = await fetch("/api/status", {cache: "no-store"});
                const d = await r.json();
                if (!d.starting) render(d);
              } catch (e) {
                $("updated").textContent = "the server does not answer (" + e.message + ")";
              }
              setTimeout(poll, 1000);
            }
            async function act(name) {
              if (!confirm(name + (name === "pause" || name === "resume" ? " the rollout now?" : " the release now?"))) return;
              $("action-result").textContent = name + " running…";
              const r = await fetch("/api/action/" + name, {method: "POST", headers: {"X-Canary-Token": $("token").value}});
              const text = await r.text();
              let shown = text;
              try { const j = JSON.parse(text); shown = "exit " + j.exit_code + "\\n" + j.out + j.err; } catch (e) { }
              $("action-result").textContent = shown;
            }
            $("promote").onclick = () => act("promote");
            $("rollback").onclick = () => act("rollback");
            $("pause").onclick = () => act("pause");
            $("resume").onclick = () => act("resume");
            poll();
            </script>
            </body>
            </html>
            """;
}
