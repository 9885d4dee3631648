// The Homeloop API as the page uses it: the bearer token, problem+json errors, ETags, and the
// page's language (?lang=, the reader's own choice on this screen: checks, bills and problems
// come back in it).
import { lang } from "./i18n.js";

const TOKEN_KEY = "homeloop.token";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

// A token in the URL fragment (#token=…: the home web app and tests) wins over the one kept for
// this tab (a kiosk's sign-in); the fragment is removed from the address at once.
export function takeToken() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const fromHash = hash.get("token");
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    hash.delete("token");
    const rest = hash.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function withLang(path) {
  const url = new URL(path, location.origin);
  url.searchParams.set("lang", lang);
  return url.pathname + url.search;
}

export function forgetToken() { sessionStorage.removeItem(TOKEN_KEY); }

export async function kioskSignIn(kioskId, secret) {
  const body = await request("POST", "/v1/auth/kiosk", { kiosk_id: Number(kioskId), secret }, null);
  sessionStorage.setItem(TOKEN_KEY, body.data.token ?? body.data.access_token);
  return body.data;
}

export async function request(method, path, json, token = sessionStorage.getItem(TOKEN_KEY), headers = {}) {
  const init = { method, headers: { "Accept-Language": lang, ...headers } };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  const response = await fetch(withLang(path), init);
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return { data, etag: response.headers.get("ETag"), response };
}

export async function binary(path, token = sessionStorage.getItem(TOKEN_KEY)) {
  const response = await fetch(withLang(path), { headers: { "Accept-Language": lang, ...(token ? { Authorization: `Bearer ${token}` } : {}) } });
  if (!response.ok) {
    const type = response.headers.get("Content-Type") || "";
    throw new ApiError(response.status, type.includes("json") ? await response.json() : null);
  }
  return response.arrayBuffer();
}
