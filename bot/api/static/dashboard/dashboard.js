// Reviewer's team dashboard: draws itself from the read API and polls it.
//
// Every piece of data goes into the page as text (textContent, attributes), never as
// HTML: titles, names and labels are other people's input. Links are kept only when
// they are http(s). Each poll sends If-None-Match with the ETag of the last answer;
// a 304 keeps the view as it is.
"use strict";

(() => {
  const STATS_DAYS = 30;
  const DECIDED_SHOWN = 5;
  const SOURCES = {
    projects: "/v1/projects?per_page=1000",
    queue: "/v1/queue?per_page=1000",
    stats: `/v1/stats?days=${STATS_DAYS}`,
    releases: "/v1/releases?per_page=100",
  };
  const WEEKDAYS = ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

  const answers = new Map(); // url -> {etag, body, total}
  const data = {};
  const filters = { project: "", person: "" };
  let pollSeconds = 30;
  let timer = null;
  let polls = 0;

  class SignInNeeded extends Error {}

  // --- small DOM helpers ------------------------------------------------------------

  const $ = (id) => document.getElementById(id);

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function safeUrl(raw) {
    try {
      const url = new URL(String(raw), location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch {
      return null;
    }
  }

  function link(href, text, props = {}) {
    const url = safeUrl(href);
    return url ? el("a", { href: url, ...props }, text) : el("span", props, text);
  }

  // --- formatting ---------------------------------------------------------------------

  const dateFormat = new Intl.DateTimeFormat(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
  });
  const timeFormat = new Intl.DateTimeFormat(undefined, {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });

  function when(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? "" : dateFormat.format(date);
  }

  const dayFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });

  function day(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? "" : dayFormat.format(date);
  }

  // [1, 2, 3, 4, 5] -> "Mon–Fri"; [1, 3, 5] -> "Mon, Wed, Fri".
  function weekdays(days) {
    if (days.length === 7) return "every day";
    const runs = [];
    for (const d of [...days].sort()) {
      const last = runs[runs.length - 1];
      if (last && last[1] === d - 1) last[1] = d;
      else runs.push([d, d]);
    }
    return runs
      .map(([a, b]) => (a === b ? WEEKDAYS[a] : b === a + 1 ? `${WEEKDAYS[a]}, ${WEEKDAYS[b]}` : `${WEEKDAYS[a]}–${WEEKDAYS[b]}`))
      .join(", ");
  }

  function timeElement(iso, props = {}) {
    return el("time", { datetime: iso, ...props }, when(iso));
  }

  function hours(value) {
    if (value === null || value === undefined) return "–";
    if (value < 1) return `${Math.round(value * 60)} min`;
    if (value < 10) return `${(Math.round(value * 10) / 10).toString()} h`;
    return `${Math.round(value)} h`;
  }

  function plural(count, one, many = `${one}s`) {
    return `${count} ${count === 1 ? one : many}`;
  }

  function sameText(a, b) {
    return String(a ?? "").toLowerCase() === String(b ?? "").toLowerCase();
  }

  // --- the read API -------------------------------------------------------------------

  async function load(url) {
    const prior = answers.get(url);
    const headers = { Accept: "application/json" };
    if (prior && prior.etag) headers["If-None-Match"] = prior.etag;
    // no-store: the browser's cache stays out of it, so our 304s reach us as they are.
    const response = await fetch(url, { headers, cache: "no-store", credentials: "same-origin" });
    if (response.status === 304 && prior) return { changed: false, ...prior };
    if (response.status === 401) throw new SignInNeeded();
    if (!response.ok) throw new Error(`${url.split("?")[0]} answered ${response.status}`);
    const body = await response.json();
    const total = Number(response.headers.get("X-Total-Count"));
    const entry = { etag: response.headers.get("ETag"), body, total };
    answers.set(url, entry);
    return { changed: true, ...entry };
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      const names = Object.keys(SOURCES);
      const results = await Promise.all(names.map((name) => load(SOURCES[name])));
      let changed = false;
      names.forEach((name, i) => {
        data[name] = results[i];
        changed = changed || results[i].changed;
      });
      if (changed || document.body.dataset.state !== "ready") render();
      setStatus(`Up to date at ${timeFormat.format(new Date())}`);
      document.body.dataset.state = "ready";
    } catch (error) {
      if (error instanceof SignInNeeded) {
        showSignIn();
        return; // nothing to poll until the person signs in
      }
      const had = document.body.dataset.state === "ready";
      setStatus(
        `Could not refresh at ${timeFormat.format(new Date())} (${error.message}); ` +
          (had ? "showing the last data, trying again." : "trying again."),
        true,
      );
    } finally {
      polls += 1;
      document.body.dataset.polls = String(polls);
    }
    schedule();
  }

  function schedule() {
    clearTimeout(timer);
    if (document.visibilityState === "hidden") return; // picked up again when shown
    timer = setTimeout(refresh, pollSeconds * 1000);
  }

  function setStatus(text, error = false) {
    const status = $("status");
    status.textContent = text;
    status.classList.toggle("error", error);
  }

  function showSignIn() {
    document.body.dataset.state = "signin";
    const next = location.pathname + location.search;
    $("signin-link").href = `/login?next=${encodeURIComponent(next)}`;
    $("signin").hidden = false;
    for (const id of ["welcome", "queue-section", "stats-section", "releases-section"]) {
      $(id).hidden = true;
    }
    $("filters").hidden = true;
    setStatus("Signed out");
  }

  // --- filters and the URL ------------------------------------------------------------

  function readFilters() {
    const params = new URLSearchParams(location.search);
    filters.project = params.get("project") || "";
    filters.person = params.get("person") || "";
    const poll = Number(params.get("poll"));
    if (Number.isFinite(poll) && poll >= 1) pollSeconds = Math.min(poll, 3600);
  }

  function writeFilters() {
    const params = new URLSearchParams(location.search);
    for (const name of ["project", "person"]) {
      if (filters[name]) params.set(name, filters[name]);
      else params.delete(name);
    }
    const query = params.toString();
    const url = location.pathname + (query ? `?${query}` : "");
    if (url !== location.pathname + location.search) history.pushState(null, "", url);
  }

  function setFilter(name, value) {
    filters[name] = value;
    writeFilters();
    render();
  }

  function fillSelect(select, options, current, allLabel) {
    const values = new Set(options.map((o) => o.value));
    const all = [{ value: "", label: allLabel }, ...options];
    if (current && !values.has(current)) all.push({ value: current, label: `${current} (none open)` });
    select.replaceChildren(
      ...all.map((o) => el("option", { value: o.value, selected: o.value === current }, o.label)),
    );
    select.value = current;
  }

  function people() {
    const logins = new Set();
    for (const item of data.queue.body) {
      if (item.author) logins.add(item.author);
      for (const wait of item.waiting_on) if (wait.login) logins.add(wait.login);
    }
    for (const reviewer of data.stats.body.reviewers) logins.add(reviewer.login);
    return [...logins].sort((a, b) => a.localeCompare(b));
  }

  function renderFilters() {
    const projects = data.projects.body
      .filter((p) => p.active !== false)
      .map((p) => {
        const repository = `${p.repo_owner}/${p.repo_name}`;
        const label = sameText(p.name, repository) ? repository : `${p.name} (${repository})`;
        return { value: repository, label };
      })
      .sort((a, b) => a.label.localeCompare(b.label));
    fillSelect($("project"), projects, filters.project, "All projects");
    fillSelect(
      $("person"),
      people().map((login) => ({ value: login, label: login })),
      filters.person,
      "Everyone",
    );
    $("clear").disabled = !filters.project && !filters.person;
  }

  // --- the queue ----------------------------------------------------------------------

  function groupQueue(items) {
    const groups = new Map();
    const add = (key, make, entry) => {
      if (!groups.has(key)) groups.set(key, { ...make, entries: [] });
      groups.get(key).entries.push(entry);
    };
    for (const item of items) {
      if (filters.project && !sameText(item.repository, filters.project)) continue;
      const mine = filters.person && item.author === filters.person;
      if (item.waiting_on.length === 0) {
        if (!filters.person || mine) add("nobody", { kind: "nobody" }, { item, wait: null });
        continue;
      }
      for (const wait of item.waiting_on) {
        if (filters.person && !mine && wait.login !== filters.person) continue;
        if (wait.login) add(`user:${wait.login}`, { kind: "person", name: wait.login }, { item, wait });
        else add(`team:${wait.team}`, { kind: "team", name: wait.team }, { item, wait });
      }
    }
    const list = [...groups.values()];
    for (const group of list) {
      group.entries.sort((a, b) => (b.wait?.waiting_hours ?? 0) - (a.wait?.waiting_hours ?? 0));
      group.idle = group.entries.filter((e) => e.wait && e.wait.idle).length;
      group.longest = Math.max(0, ...group.entries.map((e) => e.wait?.waiting_hours ?? 0));
    }
    const rank = (g) => (g.kind === "nobody" ? 1 : 0);
    list.sort((a, b) => rank(a) - rank(b) || b.idle - a.idle || b.longest - a.longest);
    return list;
  }

  function groupHeading(group) {
    if (group.kind === "person") {
      const active = filters.person === group.name;
      return el(
        "h3",
        {},
        "Waiting on ",
        el(
          "button",
          {
            type: "button",
            class: "person",
            "aria-pressed": active ? "true" : "false",
            title: active ? `Showing only ${group.name}` : `Show only what involves ${group.name}`,
            dataset: { key: `person:${group.name}` },
            onclick: () => setFilter("person", group.name),
          },
          group.name,
        ),
      );
    }
    if (group.kind === "team") return el("h3", {}, "Waiting on team ", el("strong", {}, group.name));
    return el("h3", {}, "No reviewer requested");
  }

  function entryRow({ item, wait }) {
    const idle = wait && wait.idle;
    const meta = [`${item.repository} #${item.number}`];
    if (item.author) meta.push(`by ${item.author}`);
    const badges = [];
    if (item.draft) badges.push(el("span", { class: "badge draft" }, "draft"));
    for (const label of item.labels || []) badges.push(el("span", { class: "badge label" }, label));
    const waitCell = wait
      ? el(
          "span",
          { class: "wait", title: `Requested ${when(wait.requested_at)}` },
          el("time", { datetime: wait.requested_at }, hours(wait.waiting_hours)),
          idle ? el("span", { class: "badge idle" }, "idle") : null,
        )
      : el(
          "span",
          { class: "wait opened", title: `Opened ${when(item.created_at)}` },
          "opened ",
          el("time", { datetime: item.created_at }, day(item.created_at)),
        );
    return el(
      "li",
      { class: idle ? "entry idle" : "entry", dataset: { pr: item.id } },
      el("span", { class: "title" }, link(item.url, item.title)),
      waitCell,
      el("span", { class: "meta" }, meta.join(" · "), " ", ...badges.flatMap((b) => [b, " "])),
    );
  }

  function renderQueue() {
    const groups = groupQueue(data.queue.body);
    const shown = new Set(groups.flatMap((g) => g.entries.map((e) => e.item.id)));
    const idleCount = new Set(
      groups.flatMap((g) => g.entries.filter((e) => e.wait && e.wait.idle).map((e) => e.item.id)),
    ).size;
    const container = $("queue");
    const summary = $("queue-summary");
    if (shown.size === 0) {
      summary.textContent = "";
      const filtered = filters.project || filters.person;
      container.replaceChildren(
        el(
          "p",
          { class: "empty" },
          filtered ? "No open pull request matches these filters." : "No open pull request: nothing waits for review.",
        ),
      );
      return;
    }
    let text = `${plural(shown.size, "open pull request")}, ${idleCount} with an idle reviewer.`;
    const total = data.queue.total;
    if (Number.isFinite(total) && total > data.queue.body.length) {
      text += ` Showing the first ${data.queue.body.length} of ${total}.`;
    }
    summary.textContent = text;
    container.replaceChildren(
      ...groups.map((group) =>
        el(
          "article",
          {
            class: group.idle ? "group has-idle" : "group",
            dataset: { group: group.kind === "nobody" ? "nobody" : `${group.kind}:${group.name}` },
          },
          el(
            "div",
            { class: "group-head" },
            groupHeading(group),
            el(
              "span",
              { class: "counts" },
              [
                plural(group.entries.length, "pull request"),
                group.idle ? `${group.idle} idle` : null,
                group.kind !== "nobody" ? `longest ${hours(group.longest)}` : null,
              ]
                .filter(Boolean)
                .join(" · "),
            ),
          ),
          el("ul", { class: "entries" }, group.entries.map(entryRow)),
        ),
      ),
    );
  }

  // --- time to first review -----------------------------------------------------------

  function renderStats() {
    const stats = data.stats.body;
    const week = stats.working_hours;
    $("stats-hint").textContent =
      `Last ${stats.days} days, in working hours (${week.start}–${week.end}, ` +
      `${weekdays(week.days)}, ${week.timezone}).`;
    const first = stats.time_to_first_review;
    const rows = first.projects.filter((p) => !filters.project || sameText(p.repository, filters.project));
    if (rows.length === 0) {
      $("stats").replaceChildren(el("p", { class: "empty" }, "No project to measure yet."));
      return;
    }
    const row = (name, values) =>
      el(
        "tr",
        {},
        el("td", {}, name),
        el("td", { class: "num" }, String(values.reviewed)),
        el("td", { class: "num" }, hours(values.median_hours)),
        el("td", { class: "num" }, hours(values.p90_hours)),
      );
    $("stats").replaceChildren(
      el(
        "table",
        {},
        el("caption", { class: "visually-hidden" }, "Time to first review per project"),
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            el("th", { scope: "col" }, "Project"),
            el("th", { scope: "col", class: "num" }, "Reviewed"),
            el("th", { scope: "col", class: "num" }, "Median"),
            el("th", { scope: "col", class: "num" }, "90th pct."),
          ),
        ),
        el("tbody", {}, rows.map((p) => row(p.name, p))),
        !filters.project && rows.length > 1 ? el("tfoot", {}, row("All projects", first)) : null,
      ),
    );
  }

  // --- releases -----------------------------------------------------------------------

  function approverName(a) {
    return a.name || a.github_login || a.email || a.slack_id || "someone";
  }

  function releaseMatches(release) {
    if (filters.project && !sameText(release.TeamProject, filters.project)) return false;
    if (filters.person && !release.approvers.some((a) => a.github_login === filters.person)) return false;
    return true;
  }

  function decisionBadge(decision) {
    const text = { approved: "approved", rejected: "rejected" }[decision] || "waiting";
    return el("span", { class: `badge ${decision || "waiting"}` }, text);
  }

  function pendingCard(release) {
    const needed = release.approvals_needed;
    return el(
      "article",
      { class: "release", dataset: { release: release.id } },
      el(
        "div",
        { class: "release-head" },
        el("strong", {}, release.ReleaseName),
        el(
          "span",
          { class: "meta" },
          needed === null ? "finding approvers" : `${release.approvals} of ${needed} approvals`,
        ),
      ),
      el("div", { class: "meta" }, `${release.TeamProject} · #${release.ReleaseId} · asked `, timeElement(release.created_at)),
      release.approvers.length
        ? el(
            "ul",
            { class: "approvers", "aria-label": "Approvers" },
            release.approvers.map((a) => el("li", {}, approverName(a), decisionBadge(a.decision))),
          )
        : null,
      release.approvers_error ? el("p", { class: "warning" }, release.approvers_error) : null,
    );
  }

  function renderReleases() {
    const releases = data.releases.body.filter(releaseMatches);
    const pending = releases.filter((r) => r.status === "pending");
    const decided = releases
      .filter((r) => r.status !== "pending")
      .sort((a, b) => String(b.decided_at || b.created_at).localeCompare(String(a.decided_at || a.created_at)))
      .slice(0, DECIDED_SHOWN);
    $("pending-releases").replaceChildren(
      ...(pending.length ? pending.map(pendingCard) : [el("p", { class: "empty" }, "No release is waiting for approval.")]),
    );
    if (decided.length === 0) {
      $("decided-releases").replaceChildren(el("p", { class: "empty" }, "No decided release to show."));
      return;
    }
    $("decided-releases").replaceChildren(
      el(
        "table",
        {},
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            el("th", { scope: "col" }, "Release"),
            el("th", { scope: "col" }, "Decision"),
            el("th", { scope: "col" }, "By"),
            el("th", { scope: "col" }, "When"),
          ),
        ),
        el(
          "tbody",
          {},
          decided.map((r) =>
            el(
              "tr",
              { dataset: { release: r.id } },
              el("td", {}, el("strong", {}, r.ReleaseName), el("div", { class: "meta" }, r.TeamProject)),
              el("td", {}, el("span", { class: `badge ${r.status}` }, r.status)),
              el("td", {}, [...r.approved_by, ...r.rejected_by].join(", ") || "–"),
              el("td", {}, timeElement(r.decided_at || r.created_at)),
            ),
          ),
        ),
      ),
    );
  }

  // --- the whole page -----------------------------------------------------------------

  function render() {
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : null;
    renderFilters();
    const fresh = data.projects.body.length === 0 && data.queue.body.length === 0;
    $("welcome").hidden = !fresh;
    renderQueue();
    renderStats();
    renderReleases();
    if (focused) {
      const again = document.querySelector(`[data-key="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
  }

  function start() {
    readFilters();
    $("poll-note").textContent = `Refreshes every ${plural(pollSeconds, "second")}.`;
    $("project").addEventListener("change", (e) => setFilter("project", e.target.value));
    $("person").addEventListener("change", (e) => setFilter("person", e.target.value));
    $("clear").addEventListener("click", () => {
      filters.project = "";
      filters.person = "";
      writeFilters();
      render();
      $("project").focus();
    });
    window.addEventListener("popstate", () => {
      readFilters();
      if (document.body.dataset.state === "ready") render();
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && document.body.dataset.state !== "signin") refresh();
    });
    refresh();
  }

  start();
})();
