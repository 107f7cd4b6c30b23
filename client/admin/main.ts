import { byId } from "../page/dom.js";
import { ActivityChart } from "./chart.js";
import { AdminError, adminApi, forgetToken, savedToken, saveToken, type AdminApi, type AdminStats } from "./api.js";
import { attachForms } from "./forms.js";
import { renderCards, renderNodes, renderRooms } from "./render.js";

/** How often the dashboard asks for fresh figures. */
const POLL_MS = 2000;

const signin = byId("signin", HTMLElement);
const dashboard = byId("dashboard", HTMLElement);
const signOutButton = byId("sign-out", HTMLButtonElement);
const status = byId("status", HTMLElement);
const form = byId("signin-form", HTMLFormElement);
const tokenInput = byId("signin-token", HTMLInputElement);
const signinError = byId("signin-error", HTMLElement);

let api: AdminApi | undefined;
let chart: ActivityChart | undefined;
let timer: number | undefined;

function show(stats: AdminStats): void {
  chart ??= new ActivityChart(byId("chart", HTMLElement));
  chart.show(stats.series);
  renderCards(stats);
  renderNodes(stats);
  renderRooms(stats);
  status.textContent = `Updated ${new Date(stats.now).toLocaleTimeString()}`;
}

/** Asks for the figures, shows them, and asks again `POLL_MS` after the answer (never two at once). */
async function poll(): Promise<void> {
  const current = api;
  if (!current) return;
  try {
    show(await current.stats());
  } catch (error) {
    if (error instanceof AdminError && error.unauthorized) return signOut("The token was refused; sign in again.");
    status.textContent = `Could not update: ${error instanceof AdminError ? error.message : "the request failed"}`;
  }
  if (api === current) timer = window.setTimeout(() => void poll(), POLL_MS);
}

/** Shows the dashboard for a token the server accepted, and keeps it for this tab. */
function signIn(token: string, stats: AdminStats): void {
  window.clearTimeout(timer);
  saveToken(token);
  api = adminApi(token);
  signin.hidden = true;
  dashboard.hidden = false;
  signOutButton.hidden = false;
  show(stats);
  timer = window.setTimeout(() => void poll(), POLL_MS);
}

function signOut(message = ""): void {
  forgetToken();
  api = undefined;
  window.clearTimeout(timer);
  dashboard.hidden = true;
  signOutButton.hidden = true;
  signin.hidden = false;
  status.textContent = "";
  signinError.textContent = message;
  tokenInput.value = "";
  tokenInput.focus();
}

/** Tries a token: the first answer of `/admin/stats` both checks it and fills the dashboard. */
async function tryToken(token: string): Promise<void> {
  try {
    signIn(token, await adminApi(token).stats());
  } catch (error) {
    const refused = error instanceof AdminError && error.unauthorized;
    signOut(refused ? "That token was refused." : `Could not sign in: ${(error as Error).message}`);
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const token = tokenInput.value.trim();
  if (token === "") {
    signinError.textContent = "Enter the admin token.";
    return;
  }
  signinError.textContent = "";
  void tryToken(token);
});
signOutButton.addEventListener("click", () => signOut());
attachForms(
  () => api,
  () => signOut("The token was refused; sign in again."),
);

const kept = savedToken();
if (kept !== undefined) void tryToken(kept);
else tokenInput.focus();
