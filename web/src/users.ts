// The administrator's Users view: every account with its state, grants
// (role × districts × expiry), open sessions and last login; creating a
// user, disabling and enabling, resetting a password, ending a user's
// sessions, and adding and removing grants. What the server refuses (an
// admin locking themself out, say) is shown in its own words.

import "./users.css";
import { usersApi, type Me, type UserAccount, type UserGrant } from "./api";
import { Banner } from "./banner";
import { h } from "./dom";
import { fmtDateTime, register, t } from "./i18n";
import { viewHeader } from "./topbar";
import { addGrantForm, createUserForm, passwordForm, roleLabel } from "./userforms";

register("users", {
  en: {
    "users.title": "Users",
    "users.create_heading": "New user",
    "users.list_heading": "Accounts",
    "users.refresh": "Refresh",
    "users.loading": "Loading users…",
    "users.count": "Accounts: {n}",
    "users.col_name": "User",
    "users.col_state": "State",
    "users.col_grants": "Grants",
    "users.col_sessions": "Open sessions",
    "users.col_last_login": "Last login",
    "users.col_actions": "Actions",
    "users.enabled": "enabled",
    "users.disabled": "disabled",
    "users.you": "(you)",
    "users.never": "never",
    "users.no_grants": "no role",
    "users.all_districts": "all districts",
    "users.until": "until {time}",
    "users.expired": "expired {time}",
    "users.remove_grant": "Remove",
    "users.remove_grant_title": "Take this grant away; it ends with the user's next request",
    "users.disable": "Disable",
    "users.enable": "Enable",
    "users.own_account": "You cannot disable your own account; ask another admin.",
    "users.reset_password": "Reset password",
    "users.end_sessions": "End sessions",
    "users.end_sessions_title": "Log the user out everywhere without disabling the account",
    "users.add_grant": "Add grant",
    "users.created": "User {name} created.",
    "users.disabled_done": "{name} is disabled; sessions ended: {n}.",
    "users.enabled_done": "{name} may log in again.",
    "users.password_done": "The password of {name} is set; every session of theirs has ended.",
    "users.sessions_done": "Sessions of {name} ended: {n}.",
    "users.grant_added": "Grant added to {name}.",
    "users.grant_removed": "Grant removed from {name}; it ends with their next request.",
    "users.note": "Disabling a user, resetting their password or ending their sessions logs them out at once, live video included.",
  },
  "sr-Latn": {
    "users.title": "Korisnici",
    "users.create_heading": "Novi korisnik",
    "users.list_heading": "Nalozi",
    "users.refresh": "Osveži",
    "users.loading": "Učitavam korisnike…",
    "users.count": "Naloga: {n}",
    "users.col_name": "Korisnik",
    "users.col_state": "Stanje",
    "users.col_grants": "Dozvole",
    "users.col_sessions": "Otvorene sesije",
    "users.col_last_login": "Poslednja prijava",
    "users.col_actions": "Radnje",
    "users.enabled": "aktivan",
    "users.disabled": "onemogućen",
    "users.you": "(vi)",
    "users.never": "nikad",
    "users.no_grants": "bez uloge",
    "users.all_districts": "svi reoni",
    "users.until": "do {time}",
    "users.expired": "istekla {time}",
    "users.remove_grant": "Ukloni",
    "users.remove_grant_title": "Oduzmi ovu dozvolu; prestaje da važi od sledećeg zahteva korisnika",
    "users.disable": "Onemogući",
    "users.enable": "Omogući",
    "users.own_account": "Ne možete onemogućiti sopstveni nalog; zamolite drugog administratora.",
    "users.reset_password": "Nova lozinka",
    "users.end_sessions": "Završi sesije",
    "users.end_sessions_title": "Odjavi korisnika svuda, a da nalog ostane aktivan",
    "users.add_grant": "Dodaj dozvolu",
    "users.created": "Korisnik {name} je napravljen.",
    "users.disabled_done": "{name} je onemogućen; završeno sesija: {n}.",
    "users.enabled_done": "{name} ponovo može da se prijavi.",
    "users.password_done": "Lozinka korisnika {name} je postavljena; sve njegove sesije su završene.",
    "users.sessions_done": "Završeno sesija korisnika {name}: {n}.",
    "users.grant_added": "Dozvola je dodata korisniku {name}.",
    "users.grant_removed": "Dozvola je oduzeta korisniku {name}; prestaje da važi od njegovog sledećeg zahteva.",
    "users.note": "Onemogućavanje korisnika, nova lozinka ili završetak sesija odmah ga odjavljuju, uključujući i video uživo.",
  },
});

export interface UsersHandle {
  destroy(): void;
}

/** Which inline form is open under which user's row. */
type OpenForm = { username: string; kind: "password" | "grant" } | null;

export function renderUsers(root: HTMLElement, me: Me, onLogout: () => void): UsersHandle {
  const banner = new Banner();
  let destroyed = false;

  const header = viewHeader(me, "users", t("users.title"), onLogout);

  const notice = h("div", { class: "users-notice", role: "status", "aria-live": "polite", "data-testid": "users-notice" });
  const say = (text: string) => {
    if (!destroyed) notice.textContent = text;
  };
  const summary = h("div", { class: "users-summary", "data-testid": "users-summary" }, t("users.loading"));
  const tbody = h("tbody", { "data-testid": "user-rows" });
  const table = h(
    "table",
    { class: "users-table", "data-testid": "users-table" },
    h(
      "thead",
      {},
      h("tr", {}, ["users.col_name", "users.col_state", "users.col_grants", "users.col_sessions", "users.col_last_login", "users.col_actions"].map((k) => h("th", { scope: "col" }, t(k)))),
    ),
    tbody,
  );
  const refreshBtn = h("button", { type: "button", class: "btn btn-small", "data-testid": "users-refresh" }, t("users.refresh"));
  const createSlot = h("div", { class: "create-slot" });

  let users: UserAccount[] = [];
  let districts: string[] = [];
  let open: OpenForm = null;
  let loadSeq = 0;

  /** Runs an action on the server, says how it went, and reloads the list. */
  async function act(button: HTMLButtonElement, action: () => Promise<string>) {
    button.disabled = true;
    try {
      say(await action());
      await load();
    } catch (e) {
      banner.reportError(e);
      button.disabled = false;
    }
  }

  function grantItem(u: UserAccount, g: UserGrant): HTMLElement {
    const now = Date.now();
    const expired = g.expires_at !== null && Date.parse(g.expires_at) <= now;
    const where = g.districts === null ? t("users.all_districts") : g.districts.join(", ");
    const until = g.expires_at === null ? null : t(expired ? "users.expired" : "users.until", { time: fmtDateTime(g.expires_at) });
    const remove = h("button", { type: "button", class: "link-btn grant-remove", "data-testid": "grant-remove", title: t("users.remove_grant_title") }, t("users.remove_grant"));
    remove.addEventListener("click", () =>
      void act(remove, async () => {
        await usersApi.removeGrant(u.username, g.id);
        return t("users.grant_removed", { name: u.username });
      }),
    );
    return h(
      "li",
      { class: expired ? "grant expired" : "grant", "data-testid": "user-grant", "data-grant-id": g.id, "data-role": g.role, "data-districts": g.districts === null ? "*" : g.districts.join(",") },
      h("span", { class: "grant-role" }, roleLabel(g.role)),
      " · ",
      h("span", { class: "grant-districts" }, where),
      until ? [" · ", h("span", { class: "grant-expiry" }, until)] : null,
      " ",
      remove,
    );
  }

  function userRow(u: UserAccount): HTMLTableRowElement[] {
    const self = u.username === me.username;
    const toggle = h(
      "button",
      { type: "button", class: "btn btn-small", "data-testid": u.disabled ? "user-enable" : "user-disable", disabled: self && !u.disabled, title: self && !u.disabled ? t("users.own_account") : null },
      t(u.disabled ? "users.enable" : "users.disable"),
    );
    toggle.addEventListener("click", () =>
      void act(toggle, async () => {
        const r = await usersApi.setDisabled(u.username, !u.disabled);
        return r.disabled ? t("users.disabled_done", { name: u.username, n: r.sessions_ended }) : t("users.enabled_done", { name: u.username });
      }),
    );
    const endBtn = h("button", { type: "button", class: "btn btn-small", "data-testid": "user-end-sessions", title: t("users.end_sessions_title") }, t("users.end_sessions"));
    endBtn.addEventListener("click", () =>
      void act(endBtn, async () => {
        const r = await usersApi.endSessions(u.username);
        return t("users.sessions_done", { name: u.username, n: r.sessions_ended });
      }),
    );
    const pwBtn = h("button", { type: "button", class: "btn btn-small", "data-testid": "user-reset-password" }, t("users.reset_password"));
    pwBtn.addEventListener("click", () => toggleForm(u.username, "password"));
    const grantBtn = h("button", { type: "button", class: "btn btn-small", "data-testid": "user-add-grant" }, t("users.add_grant"));
    grantBtn.addEventListener("click", () => toggleForm(u.username, "grant"));

    const row = h(
      "tr",
      { "data-testid": "user-row", "data-username": u.username, "data-disabled": u.disabled ? "1" : "0", class: u.disabled ? "user-disabled" : "" },
      h("td", { class: "user-name" }, u.username, self ? h("span", { class: "user-self" }, ` ${t("users.you")}`) : null),
      h("td", { "data-testid": "user-state" }, h("span", { class: u.disabled ? "state-pill off" : "state-pill on" }, t(u.disabled ? "users.disabled" : "users.enabled"))),
      h("td", {}, u.grants.length ? h("ul", { class: "grant-list" }, u.grants.map((g) => grantItem(u, g))) : h("span", { class: "muted" }, t("users.no_grants"))),
      h("td", { class: "num", "data-testid": "user-sessions" }, String(u.open_sessions)),
      h("td", { "data-testid": "user-last-login", title: u.last_login_at ?? "" }, u.last_login_at ? fmtDateTime(u.last_login_at) : t("users.never")),
      h("td", { class: "user-actions" }, toggle, pwBtn, endBtn, grantBtn),
    );
    const rows = [row];
    if (open && open.username === u.username) {
      const done = (message: string) => {
        open = null;
        say(message);
        void load();
      };
      const cancel = () => {
        open = null;
        draw();
      };
      const form =
        open.kind === "password"
          ? passwordForm(u.username, () => done(t("users.password_done", { name: u.username })), cancel)
          : addGrantForm(u.username, districts, () => done(t("users.grant_added", { name: u.username })), cancel);
      rows.push(h("tr", { class: "user-form-row", "data-username": u.username }, h("td", { colspan: 6 }, form)));
    }
    return rows;
  }

  function toggleForm(username: string, kind: "password" | "grant") {
    open = open && open.username === username && open.kind === kind ? null : { username, kind };
    draw();
    tbody.querySelector<HTMLElement>(".user-form-row input, .user-form-row select")?.focus();
  }

  function draw() {
    tbody.replaceChildren(...users.flatMap(userRow));
    summary.textContent = t("users.count", { n: users.length });
    summary.dataset.count = String(users.length);
  }

  async function load() {
    const seq = ++loadSeq;
    try {
      const list = await usersApi.list();
      if (destroyed || seq !== loadSeq) return;
      users = list;
      if (open && !users.some((u) => u.username === open?.username)) open = null;
      draw();
    } catch (e) {
      banner.reportError(e);
    }
  }

  async function start() {
    try {
      districts = await usersApi.districtNames();
    } catch (e) {
      banner.reportError(e);
    }
    if (destroyed) return;
    createSlot.replaceChildren(
      createUserForm(districts, (name) => {
        say(t("users.created", { name }));
        void load();
      }),
    );
    await load();
  }

  refreshBtn.addEventListener("click", () => void load());

  const main = h(
    "main",
    { class: "users-view", "data-testid": "users-view" },
    h("section", { class: "users-panel", "aria-label": t("users.create_heading") }, h("h2", {}, t("users.create_heading")), createSlot),
    h(
      "section",
      { class: "users-panel users-list", "aria-label": t("users.list_heading") },
      h("div", { class: "users-list-head" }, h("h2", {}, t("users.list_heading")), summary, h("div", { class: "spacer" }), refreshBtn),
      notice,
      h("div", { class: "users-table-wrap" }, table),
      h("p", { class: "users-note" }, t("users.note")),
    ),
  );
  root.replaceChildren(h("div", { class: "app" }, header, h("div", { class: "users-workspace" }, banner.el, main)));

  const onKey = (ev: KeyboardEvent) => {
    if (ev.key === "Escape") banner.dismissLatest();
  };
  document.addEventListener("keydown", onKey);
  void start();

  return {
    destroy() {
      destroyed = true;
      banner.close();
      document.removeEventListener("keydown", onKey);
    },
  };
}
