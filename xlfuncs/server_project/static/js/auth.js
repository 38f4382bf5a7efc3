// Regime Risk: overrides xlwings Server's static/js/auth.js.
// Microsoft Entra ID (XLWINGS_AUTH_PROVIDERS includes "entraid"): unchanged from xlwings Server.
// Otherwise the access token the administrator issued, saved in the task pane
// (static/js/token-form.js) in this Excel's local storage under "regimeRiskToken"; the server
// checks its SHA-256 against its tokens file. No token saved: no Authorization header value.
globalThis.getAuth = async function () {
  if (config.authProviders.includes("entraid")) {
    const token = await xlwings.getAccessToken();
    return {
      token: token,
      provider: "entraid",
    };
  }
  let saved = null;
  try {
    saved = globalThis.localStorage.getItem("regimeRiskToken");
  } catch (error) {
    // Storage unavailable (e.g. blocked by the host): behave as if no token was saved.
    saved = null;
  }
  const token = (saved || "").trim();
  if (token) {
    return {
      token: "Bearer " + token,
      provider: "token",
    };
  }
  return {
    token: "",
    provider: "",
  };
};
