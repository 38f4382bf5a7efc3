// Regime Risk task pane: the access token form and the function descriptions.
// Loaded by templates/taskpane.html as an external module (no inline script: CSP).
// The token is stored under "regimeRiskToken" in this Excel's local storage; static/js/auth.js
// reads it for every function call and sends "Authorization: Bearer <token>".

const STORAGE_KEY = "regimeRiskToken";

function readToken() {
  try {
    return (globalThis.localStorage.getItem(STORAGE_KEY) || "").trim();
  } catch (error) {
    return "";
  }
}

function normalise(value) {
  // Accept a pasted "Bearer <token>" too: auth.js adds the scheme itself.
  return value.trim().replace(/^bearer\s+/i, "").trim();
}

function setupTokenForm() {
  const form = document.getElementById("token-form");
  if (!form) {
    return; // Entra ID sign-in: no token form
  }
  const input = document.getElementById("token-input");
  const clear = document.getElementById("token-clear");
  const status = document.getElementById("token-status");

  function show(message) {
    status.textContent = message;
  }

  function showSaved() {
    show(readToken() ? "A token is saved in this Excel." : "No token saved.");
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const token = normalise(input.value);
    if (!token) {
      show("Paste the token your administrator gave you, then Save.");
      return;
    }
    try {
      globalThis.localStorage.setItem(STORAGE_KEY, token);
    } catch (error) {
      show("Could not save the token: this Excel's local storage is not available.");
      return;
    }
    input.value = "";
    show(
      "Token saved in this Excel. Recalculate the workbook (Ctrl+Alt+F9 on Windows) to refresh cells that failed without it.",
    );
  });

  clear.addEventListener("click", () => {
    try {
      globalThis.localStorage.removeItem(STORAGE_KEY);
    } catch (error) {
      // Nothing stored, nothing to remove.
    }
    input.value = "";
    show("Token removed from this Excel.");
  });

  showSaved();
}

async function describeFunctions() {
  // Adds each function's one-line description from the custom functions metadata (the same
  // text as Excel's function wizard); lists any function the page does not name under "More".
  const section = document.getElementById("functions");
  if (!section || !section.dataset.metaUrl) {
    return;
  }
  let functions;
  try {
    const response = await fetch(section.dataset.metaUrl, { credentials: "same-origin" });
    if (!response.ok) {
      return;
    }
    functions = (await response.json()).functions || [];
  } catch (error) {
    return; // The static list stays as it is.
  }
  const moreList = document.querySelector("#functions-more ul");
  for (const fn of functions) {
    let item = section.querySelector(`li[data-function="${CSS.escape(fn.name)}"]`);
    if (!item && moreList) {
      item = document.createElement("li");
      item.dataset.function = fn.name;
      const code = document.createElement("code");
      code.textContent = (section.dataset.prefix || "") + fn.name;
      const span = document.createElement("span");
      span.className = "function-description text-body-secondary";
      item.append(code, " ", span);
      moreList.append(item);
      document.getElementById("functions-more").classList.remove("d-none");
    }
    const description = item && item.querySelector(".function-description");
    if (description && fn.description) {
      description.textContent = fn.description;
    }
  }
}

function init() {
  setupTokenForm();
  describeFunctions();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", init);
} else {
  init();
}
