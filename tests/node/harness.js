#!/usr/bin/env node
// Runs the custom-functions JavaScript that xlwings Server serves, under Node, the way Excel
// (Mac/web: shared runtime, CustomFunctionsRuntime 1.4) runs it, and calls the functions.
//
// Usage:  node tests/node/harness.js [BASE_URL] [--token T] [--concurrency N]
//         env fallbacks: REGIME_RISK_BASE_URL, REGIME_RISK_TOKEN, REGIME_RISK_CONCURRENCY
// stdin:  a JSON list of calls, e.g.
//           [{"id": 1, "func": "REGIME_PROB", "args": [[["Date","A"],[45292,0.01]], 2]}]
//         args as Excel passes them: ranges as 2-D arrays, scalars as scalars, omitted optional
//         arguments as null. Optional per call: "address" (default "Sheet1!A<n>").
// stdout: one JSON line per call, in completion order:
//           {"id":1,"index":0,"ok":true,"result":[[...]],"requests":1,"elapsed_ms":12.3}
//           {"id":2,"index":1,"ok":false,"error_class":"CustomFunctions.Error","code":"#VALUE!",
//            "message":"...","requests":1,"elapsed_ms":4.5}
//         "requests" counts the HTTP requests (globalThis.xwRequest.post calls) the client made
//         for that call, retries included. Exit code 0 once every call has a line; 2 when the
//         add-in could not be loaded (message on stderr). The client's console goes to stderr.
//
// What is real and what is a stub (everything runs in one `vm` context, like the task pane):
//   served by the server, executed unchanged, in the page's order:
//     - the task pane page (GET /taskpane): its <script id="config"> JSON and its script list;
//     - /static/js/auth.js (classic script: globalThis.getAuth);
//     - /static/js/config.js (ES module: globalThis.config from the page's JSON);
//     - /static/js/custom-scripts/index.js and every module it imports (utils.js:
//       globalThis.xwRequest, getCultureInfoName, getDateFormat; globalThis.xlwings);
//     - /xlwings/custom-functions-code.js (classic, deferred: the functions and
//       CustomFunctions.associate calls).
//   stubs (what office.js and the WebView provide): Office (onReady, requirement sets),
//   CustomFunctions (associate, Error, ErrorCode), Excel (RequestContext/run with load/sync
//   semantics), localStorage/sessionStorage (Map-backed), window/self/location/document/
//   navigator, and XMLHttpRequest (on Node's fetch: utils.js' xwRequest is written on XHR).
// Other page scripts (office.js itself, htmx, socket.io, bootstrap, Alpine, ribbon,
// taskpane-reload, main.js) are skipped: custom functions do not use them.
//
// ES modules need vm.SourceTextModule (node --experimental-vm-modules); without the flag the
// harness re-runs itself with it. No npm packages.
"use strict";

const vm = require("node:vm");
const { AsyncLocalStorage } = require("node:async_hooks");
const { spawnSync } = require("node:child_process");
const { performance } = require("node:perf_hooks");

if (typeof vm.SourceTextModule !== "function") {
  const child = spawnSync(
    process.execPath,
    ["--experimental-vm-modules", "--no-warnings", __filename, ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  process.exit(child.status === null ? 1 : child.status);
}

// Scripts of the task pane page that custom functions need (the rest is UI).
const LOADED_SCRIPTS = [
  /\/static\/js\/auth\.js$/,
  /\/static\/js\/config\.js$/,
  /\/static\/js\/custom-scripts\/index\.js$/,
  /\/xlwings\/custom-functions-code(\.js)?$/,
];
const TOKEN_KEY = "regimeRiskToken";
const WORKBOOK_NAME = process.env.REGIME_RISK_WORKBOOK || "Book1.xlsx";
const CULTURE = process.env.REGIME_RISK_CULTURE || "en-US";
const SHORT_DATE = process.env.REGIME_RISK_SHORT_DATE || "M/d/yyyy";
// What Excel on Mac/web reports (CustomFunctionsRuntime 1.4; ExcelApi well past 1.12).
const REQUIREMENT_SETS = {
  customfunctionsruntime: "1.4",
  excelapi: "1.17",
  sharedruntime: "1.1",
  dialogapi: "1.2",
  ribbonapi: "1.1",
};

function parseArgs(argv) {
  const opts = {
    baseUrl: process.env.REGIME_RISK_BASE_URL || "",
    token: process.env.REGIME_RISK_TOKEN || null,
    concurrency: Number(process.env.REGIME_RISK_CONCURRENCY || 1),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--token") opts.token = argv[++i];
    else if (a === "--concurrency") opts.concurrency = Number(argv[++i]);
    else if (a === "--base-url") opts.baseUrl = argv[++i];
    else if (!a.startsWith("--")) opts.baseUrl = a;
    else throw new Error(`unknown option ${a}`);
  }
  if (!opts.baseUrl) {
    throw new Error("give the server's base URL (argument or REGIME_RISK_BASE_URL)");
  }
  opts.baseUrl = opts.baseUrl.replace(/\/+$/, "");
  if (!(opts.concurrency >= 1)) opts.concurrency = 1;
  return opts;
}

function versionAtLeast(have, want) {
  const a = String(have).split(".").map(Number);
  const b = String(want || "1.1").split(".").map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] || 0;
    const y = b[i] || 0;
    if (x !== y) return x > y;
  }
  return true;
}

async function getText(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.text();
}

// The page's <script> tags in order, with how a browser runs them: classic scripts without
// defer at parse time, then modules and deferred scripts in document order.
function pageScripts(html, baseUrl) {
  const scripts = [];
  for (const m of html.matchAll(/<script\b([^>]*)>/gi)) {
    const attrs = m[1];
    const src = /\bsrc\s*=\s*"([^"]*)"/i.exec(attrs);
    if (!src) continue;
    const isModule = /\btype\s*=\s*"module"/i.test(attrs);
    scripts.push({
      url: new URL(src[1], baseUrl + "/").href,
      isModule,
      deferred: isModule || /\bdefer\b/i.test(attrs),
    });
  }
  return [...scripts.filter((s) => !s.deferred), ...scripts.filter((s) => s.deferred)];
}

function pageConfig(html) {
  const m = /<script\b[^>]*\bid\s*=\s*"config"[^>]*>([\s\S]*?)<\/script>/i.exec(html);
  if (!m) throw new Error('the task pane page has no <script id="config">');
  return m[1];
}

// Office's property bag: values readable only after load() and sync(), as in Office.js.
function officeObject(values) {
  const loaded = new Set();
  const pending = new Set();
  const obj = {
    load(props) {
      const names = Array.isArray(props) ? props : String(props).split(",");
      for (const n of names) pending.add(n.trim());
      return obj;
    },
    __sync() {
      for (const n of pending) loaded.add(n);
      pending.clear();
    },
  };
  for (const [key, value] of Object.entries(values)) {
    if (value && typeof value === "object" && typeof value.__sync === "function") {
      obj[key] = value;
      continue;
    }
    Object.defineProperty(obj, key, {
      enumerable: true,
      get() {
        if (!loaded.has(key)) {
          throw new Error(
            `PropertyNotLoaded: The property '${key}' is not available. Before reading the ` +
              "property's value, call the load method on the containing object and call " +
              '"context.sync()" on the associated request context.',
          );
        }
        return value;
      },
    });
  }
  return obj;
}

function makeRequestContextClass() {
  return class RequestContext {
    constructor() {
      const datetimeFormat = officeObject({ shortDatePattern: SHORT_DATE });
      const cultureInfo = officeObject({ name: CULTURE, datetimeFormat });
      this.application = officeObject({ cultureInfo });
      this.workbook = officeObject({ name: WORKBOOK_NAME });
      this.workbook.worksheets = { onCalculated: { add: async () => ({ remove() {} }) } };
      this._objects = [this.workbook, this.application, cultureInfo, datetimeFormat];
    }
    async sync() {
      for (const o of this._objects) o.__sync();
    }
  };
}

// XMLHttpRequest on Node's fetch: the part of the XHR API utils.js' xhrRequest uses (open,
// setRequestHeader, timeout, send, status, statusText, responseText, getResponseHeader,
// onload/onerror/ontimeout/onabort). Non-2xx statuses are a load, as in browsers.
class XMLHttpRequest {
  constructor() {
    this.readyState = 0;
    this.status = 0;
    this.statusText = "";
    this.responseText = "";
    this.timeout = 0;
    this._headers = {};
    this._responseHeaders = null;
    this.onload = this.onerror = this.ontimeout = this.onabort = null;
  }
  open(method, url, async = true) {
    if (!async) throw new Error("synchronous XMLHttpRequest is not supported");
    this._method = method;
    this._url = url;
    this.readyState = 1;
  }
  setRequestHeader(name, value) {
    this._headers[name] = String(value);
  }
  getResponseHeader(name) {
    return this._responseHeaders ? this._responseHeaders.get(name) : null;
  }
  abort() {
    if (this._controller) {
      this._aborted = true;
      this._controller.abort();
    }
  }
  send(body) {
    this._controller = new AbortController();
    let timedOut = false;
    const timer =
      this.timeout > 0
        ? setTimeout(() => {
            timedOut = true;
            this._controller.abort();
          }, this.timeout)
        : null;
    const fire = (name) => {
      this.readyState = 4;
      if (typeof this[name] === "function") this[name]();
    };
    fetch(this._url, {
      method: this._method,
      headers: this._headers,
      body: body == null ? undefined : body,
      signal: this._controller.signal,
    })
      .then(async (res) => {
        this.responseText = await res.text();
        this.status = res.status;
        this.statusText = res.statusText;
        this._responseHeaders = res.headers;
        if (timer) clearTimeout(timer);
        fire("onload");
      })
      .catch(() => {
        if (timer) clearTimeout(timer);
        fire(timedOut ? "ontimeout" : this._aborted ? "onabort" : "onerror");
      });
  }
}

function mapStorage() {
  const m = new Map();
  return {
    getItem: (k) => (m.has(String(k)) ? m.get(String(k)) : null),
    setItem: (k, v) => void m.set(String(k), String(v)),
    removeItem: (k) => void m.delete(String(k)),
    clear: () => m.clear(),
    key: (i) => [...m.keys()][i] ?? null,
    get length() {
      return m.size;
    },
  };
}

function makeConsole() {
  const write = (level) => (...args) => {
    const text = args
      .map((a) => (typeof a === "string" ? a : require("node:util").inspect(a, { depth: 4 })))
      .join(" ");
    process.stderr.write(`[client ${level}] ${text}\n`);
  };
  const levels = ["log", "info", "warn", "error", "debug"];
  return Object.fromEntries(levels.map((level) => [level, write(level)]));
}

function buildContext(baseUrl, configJson) {
  const associated = new Map();
  const elements = new Map([["config", { id: "config", textContent: configJson }]]);
  const noop = () => {};
  const sandbox = {
    console: makeConsole(),
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    queueMicrotask,
    structuredClone,
    crypto: globalThis.crypto,
    fetch,
    URL,
    URLSearchParams,
    AbortController,
    TextEncoder,
    TextDecoder,
    atob,
    btoa,
    XMLHttpRequest,
    localStorage: mapStorage(),
    sessionStorage: mapStorage(),
    location: {
      origin: baseUrl,
      href: baseUrl + "/taskpane",
      protocol: new URL(baseUrl).protocol,
      reload: noop,
    },
    navigator: { userAgent: "Mozilla/5.0 (Macintosh) Node harness (Office.js stub)" },
    document: {
      baseURI: baseUrl + "/taskpane",
      getElementById: (id) => elements.get(id) || null,
      querySelector: () => null,
      querySelectorAll: () => [],
      addEventListener: noop,
      removeEventListener: noop,
      head: { appendChild: noop },
      body: { appendChild: noop },
    },
    addEventListener: noop,
    removeEventListener: noop,
  };
  const context = vm.createContext(sandbox, { name: "excel-shared-runtime" });
  vm.runInContext("globalThis.window = globalThis; globalThis.self = globalThis;", context);

  // Office / CustomFunctions / Excel: what office.js provides, defined inside the context so
  // that their objects (errors, promises) belong to it.
  const install = vm.runInContext(
    `(function (hooks) {
      const info = { host: "Excel", platform: "Mac" };
      const ready = Promise.resolve(info);
      globalThis.Office = {
        HostType: { Excel: "Excel" },
        PlatformType: { Mac: "Mac", OfficeOnline: "OfficeOnline" },
        AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
        EventType: {
          DialogMessageReceived: "dialogMessageReceived",
          DialogEventReceived: "dialogEventReceived",
        },
        onReady(callback) {
          if (typeof callback === "function") ready.then(callback);
          return ready;
        },
        context: {
          host: "Excel",
          platform: "Mac",
          requirements: { isSetSupported: hooks.isSetSupported },
        },
      };
      class CustomFunctionsError {
        constructor(code, message) {
          this.code = code === undefined ? "#VALUE!" : code;
          if (message !== undefined) this.message = message;
        }
      }
      globalThis.CustomFunctions = {
        Error: CustomFunctionsError,
        ErrorCode: {
          invalidValue: "#VALUE!",
          notAvailable: "#N/A",
          divisionByZero: "#DIV/0!",
          invalidNumber: "#NUM!",
          nullReference: "#NULL!",
          invalidName: "#NAME?",
          invalidReference: "#REF!",
        },
        associate(id, fn) {
          if (typeof id === "object") {
            for (const [k, v] of Object.entries(id)) hooks.associate(k, v);
          } else {
            hooks.associate(id, fn);
          }
        },
      };
      const RequestContext = hooks.RequestContext;
      globalThis.Excel = {
        RequestContext,
        async run(batch) {
          const ctx = new RequestContext();
          return await batch(ctx);
        },
      };
    })`,
    context,
  );
  install({
    isSetSupported(name, version) {
      const have = REQUIREMENT_SETS[String(name).toLowerCase()];
      return have !== undefined && versionAtLeast(have, version);
    },
    associate(id, fn) {
      associated.set(String(id).toUpperCase(), fn);
    },
    RequestContext: makeRequestContextClass(),
  });
  return { context, associated };
}

async function loadModule(entryUrl, context, cache) {
  async function get(url) {
    if (!cache.has(url)) {
      const source = await getText(url);
      cache.set(url, new vm.SourceTextModule(source, { identifier: url, context }));
    }
    return cache.get(url);
  }
  const mod = await get(entryUrl);
  await mod.link((specifier, referencing) => get(new URL(specifier, referencing.identifier).href));
  await mod.evaluate();
}

async function loadAddin(opts) {
  const pageUrl = `${opts.baseUrl}/taskpane`;
  const html = await getText(pageUrl);
  const configJson = pageConfig(html);
  const { context, associated } = buildContext(opts.baseUrl, configJson);
  if (opts.token != null) context.localStorage.setItem(TOKEN_KEY, opts.token);
  const scripts = pageScripts(html, opts.baseUrl).filter((s) =>
    LOADED_SCRIPTS.some((re) => re.test(new URL(s.url).pathname)),
  );
  const missing = LOADED_SCRIPTS.filter(
    (re) => !scripts.some((s) => re.test(new URL(s.url).pathname)),
  );
  if (missing.length) {
    throw new Error(`the task pane page does not load ${missing.map(String).join(", ")}`);
  }
  const modules = new Map();
  for (const s of scripts) {
    if (s.isModule) {
      await loadModule(s.url, context, modules);
    } else {
      new vm.Script(await getText(s.url), { filename: s.url }).runInContext(context);
    }
  }
  for (const name of ["config", "getAuth", "xwRequest", "xlwings"]) {
    if (!context[name]) throw new Error(`after loading the add-in, globalThis.${name} is missing`);
  }
  if (associated.size === 0) throw new Error("the custom-functions code associated no function");
  // Count the client's HTTP requests per call (retries included).
  const requestCount = new AsyncLocalStorage();
  const realPost = context.xwRequest.post;
  context.xwRequest.post = function (...args) {
    const store = requestCount.getStore();
    if (store) store.requests++;
    return realPost.apply(this, args);
  };
  return { context, associated, requestCount, parse: vm.runInContext("JSON.parse", context) };
}

function describeError(err, context) {
  if (err instanceof context.CustomFunctions.Error) {
    return { error_class: "CustomFunctions.Error", code: err.code, message: err.message ?? "" };
  }
  const cls = err && err.constructor && err.constructor.name ? err.constructor.name : typeof err;
  return {
    error_class: cls,
    code: err && err.code !== undefined ? err.code : null,
    message: err && err.message !== undefined ? String(err.message) : String(err),
  };
}

async function runCall(addin, call, index) {
  const { context, associated, requestCount, parse } = addin;
  const id = call.id === undefined ? index : call.id;
  const name = String(call.func || "").toUpperCase().replace(/^.*\./, ""); // RISK.X -> X
  const store = { requests: 0 };
  const start = performance.now();
  const line = { id, index };
  const fn = associated.get(name);
  if (!fn) {
    Object.assign(line, {
      ok: false,
      error_class: "HarnessError",
      code: null,
      message: `no custom function ${call.func} (have ${[...associated.keys()].join(", ")})`,
    });
  } else {
    // Arguments built inside the context, as Excel hands them to the runtime.
    const args = parse(JSON.stringify(call.args || []));
    const invocation = parse(
      JSON.stringify({ address: call.address || `Sheet1!A${index + 1}`, functionName: name }),
    );
    invocation.setResult = () => {};
    try {
      const result = await requestCount.run(store, () => fn(...args, invocation));
      Object.assign(line, { ok: true, result: result === undefined ? null : result });
    } catch (err) {
      Object.assign(line, { ok: false, ...describeError(err, context) });
    }
  }
  line.requests = store.requests;
  line.elapsed_ms = Math.round((performance.now() - start) * 10) / 10;
  process.stdout.write(JSON.stringify(line) + "\n");
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const input = (await readStdin()).trim();
  const calls = input ? JSON.parse(input) : [];
  if (!Array.isArray(calls)) throw new Error("stdin must be a JSON list of calls");
  let addin;
  try {
    addin = await loadAddin(opts);
  } catch (err) {
    const why = err.stack || err;
    process.stderr.write(`harness: could not load the add-in from ${opts.baseUrl}: ${why}\n`);
    process.exit(2);
  }
  let next = 0;
  const worker = async () => {
    while (next < calls.length) {
      const i = next++;
      await runCall(addin, calls[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, calls.length) }, worker));
}

main().then(
  () => process.stdout.write("", () => process.exit(0)),
  (err) => {
    process.stderr.write(`harness: ${err.stack || err}\n`);
    process.exit(1);
  },
);
