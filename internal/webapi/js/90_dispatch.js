// Dispatch: the contract between the runtime (Go) and the user's handlers.
//
// k.entry is the object the runtime calls:
//   init()             once per VM after the bundle ran; finds the handlers
//                      and returns their kinds, e.g. "fetch,scheduled".
//   setEnv(descriptor) builds the env object handlers receive.
//   fetch(method, url, headersFlat, bodyRid, requestId)
//                      one HTTP invocation; resolves once the response is
//                      sent through op_respond*, rejects with the handler's
//                      error (the runtime answers 500).
//   scheduled(scheduledTime, cron)
//                      one cron invocation; resolves when the handler did.
//   queue(queueName, metaJSON, bodies, requestId)
//                      one queue batch (see 32_queue.js newQueueBatch);
//                      always resolves, with the JSON of every message's
//                      decision and the handler's error if it threw.
//   rpc(entrypoint, method, payload, requestId)
//                      one service binding RPC call (33_service.js
//                      serveRpc); resolves to the serialised result.
//   waitUntil()        settles once every promise given to waitUntil so far
//                      has; rejections are logged, not thrown.
//
// Handlers come in two forms: module syntax (the bundle leaves its
// namespace in globalThis.__kumo_main, whose default export has fetch,
// scheduled and queue methods) or service-worker listeners registered with
// the global addEventListener("fetch" | "scheduled", ...) (the global
// object is an EventTarget, set up by 99_bootstrap.js; FetchEvent and
// ScheduledEvent are dispatched on it).

let env = {};
let main = null; // the default export, when it has handlers
let exportsNs = null; // the module namespace: RPC entrypoints are its classes
let waitList = [];
const resolved = Promise.resolve();
// Captured once: the fetch path runs on every request.
const ResponseCtor = k.Response;
const { responseInner, newDispatchRequest, takeSource } = k;

// registerWaitUntil keeps a promise the invocation's host must wait for.
function registerWaitUntil(p) {
  const promise = Promise.resolve(p);
  k.markHandled(promise);
  waitList.push(promise);
}

// One ctx for the VM: instances run one invocation at a time.
const ctx = Object.freeze({
  waitUntil(promise) {
    k.requiredArguments(arguments.length, 1, "Failed to execute 'waitUntil' on 'ExecutionContext'");
    registerWaitUntil(promise);
  },
  passThroughOnException() {},
});

// FetchEvent, ScheduledEvent: the service-worker form's events. Made on
// first use: Event comes from 02_event.js, which is lazy.
let eventClasses = null;
function events() {
  if (eventClasses !== null) return eventClasses;
  const _request = k.internalSymbol("request");
  const _state = k.internalSymbol("state");
  // https://w3c.github.io/ServiceWorker/#fetchevent-interface
  class FetchEvent extends k.Event {
    constructor(type, init) {
      super(type, init);
      this[_request] = init.request;
      this[_state] = { dispatching: true, response: null };
    }
    get request() {
      return this[_request];
    }
    // https://w3c.github.io/ServiceWorker/#fetch-event-respondwith
    respondWith(r) {
      const st = this[_state];
      const prefix = "Failed to execute 'respondWith' on 'FetchEvent'";
      if (!st.dispatching) {
        throw new k.DOMException(`${prefix}: The event handler is already finished.`, "InvalidStateError");
      }
      if (st.response !== null) {
        throw new k.DOMException(`${prefix}: The event has already been responded to.`, "InvalidStateError");
      }
      st.response = Promise.resolve(r);
    }
    waitUntil(p) {
      registerWaitUntil(p);
    }
    passThroughOnException() {}
  }
  class ScheduledEvent extends k.Event {
    constructor(type, init) {
      super(type, init);
      this.scheduledTime = init.scheduledTime;
      this.cron = init.cron;
    }
    waitUntil(p) {
      registerWaitUntil(p);
    }
    noRetry() {}
  }
  eventClasses = { FetchEvent, ScheduledEvent, _state };
  return eventClasses;
}

// globalHasListeners reports whether script added listeners of type to the
// global object; with 02_event.js (lazy) not loaded, it has none.
function globalHasListeners(type) {
  const hasListeners = k.ifLoaded("hasListeners");
  return hasListeners !== undefined && hasListeners(globalThis, type);
}

// Slack for the shapes of a request's objects, made by init once the app's
// code has run. QuickJS gives each `{ __proto__: ... }` literal (the
// records of the request path) and each new instance of a class that no
// live object shares a shape of its own: an 88-byte block, 42 to a 4 KiB
// arena, freed with the object; and it frees an arena the moment it
// empties. Without slack, a request whose objects overflow the last arena
// makes and frees one, at times several times (about 0.1 µs each). Of 42
// shapes made here, the one kept holds its arena, with at least 41 free
// blocks however full the arenas were.
let shapeSlack = null;
function makeShapeSlack() {
  const shapes = [];
  for (let i = 0; i < 42; i++) shapes.push({ __proto__: null });
  shapeSlack = shapes[41];
}

// Describes a non-Response result for the error message.
function describe(v) {
  if (v === null) return "null";
  if (typeof v === "string") return "a string";
  if (typeof v === "object" || typeof v === "function") {
    const name = v.constructor !== undefined && v.constructor !== null ? v.constructor.name : "";
    return name ? (/^[AEIOU]/.test(name) ? "an " : "a ") + name : "an object";
  }
  return String(v);
}

function dispatchFetchEvent(request) {
  const ev = events();
  const event = new ev.FetchEvent("fetch", { request });
  const st = event[ev._state];
  // A listener that throws fails the request with its error, as in
  // Workers; with no respondWith the invocation fails below.
  try {
    k.dispatch(globalThis, event, true);
  } finally {
    st.dispatching = false;
  }
  if (st.response === null) {
    throw new TypeError("no response: no \"fetch\" listener called event.respondWith()");
  }
  return st.response;
}

// sendResponse sends res through the op_respond* ops. A body known whole
// goes in the single op_respond call; a body that is an untouched Go
// resource (a fetched response, the request body) is piped by Go; any other
// stream is read here and written chunk by chunk, each write awaited.
function sendResponse(res) {
  if (!(res instanceof ResponseCtor)) {
    throw new TypeError(`handler returned ${describe(res)}, not a Response`);
  }
  return sendInner(responseInner(res));
}

// sendSettled is sendResponse for a handler's settled promise: a send
// done at once returns undefined, not the resolved promise, which would
// cost the then() its own promise jobs.
function sendSettled(res) {
  const p = sendResponse(res);
  return p === resolved ? undefined : p;
}

// sendInner sends the inner response of a Response.
function sendInner(inner) {
  if (inner.type === "error") throw new TypeError("handler returned Response.error()");
  const src = takeSource(inner);
  if (src !== undefined) {
    ops.op_respond(inner.status, inner.headerText, src);
    return resolved;
  }
  const body = inner.body;
  if (body === null) {
    ops.op_respond(inner.status, inner.headerText, null);
    return resolved;
  }
  return sendBody(inner, body);
}

async function sendBody(inner, body) {
  if (body.unusable) throw new TypeError("handler returned a Response whose body was already used");
  const whole = body.materialize();
  if (whole !== undefined) {
    ops.op_respond(inner.status, inner.headerText, await whole);
    return;
  }
  const rid = body.takeRid();
  ops.op_respond(inner.status, inner.headerText, undefined);
  if (rid >= 0) {
    await ops.op_respond_pipe(rid);
  } else {
    const reader = body.stream.getReader();
    body.consumed = true;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = k.bufferSourceView(value);
      if (chunk === undefined) {
        const err = new TypeError(`response body stream chunk is ${describe(value)}, not a Uint8Array`);
        reader.cancel(err).catch(() => {});
        throw err;
      }
      if (chunk.byteLength > 0) await ops.op_respond_write(chunk);
    }
  }
  ops.op_respond_end();
}

const entry = {
  init() {
    const ns = globalThis.__kumo_main;
    globalThis.__kumo_main = undefined; // the bundle declares it with var: not deletable
    exportsNs = ns !== null && ns !== undefined ? ns : null;
    let def = exportsNs !== null ? ns.default : undefined;
    // export default class extends WorkerEntrypoint { fetch(request) {...} }
    // (33_service.js, lazy: with the layer not loaded, no class extends it)
    const isEntrypointClass = k.ifLoaded("isEntrypointClass");
    if (isEntrypointClass !== undefined && isEntrypointClass(def)) def = k.classHandlers(def);
    const kinds = [];
    if (def !== null && (typeof def === "object" || typeof def === "function")) {
      for (const kind of ["fetch", "scheduled", "queue"]) {
        if (typeof def[kind] === "function") kinds.push(kind);
      }
    }
    if (kinds.length > 0) {
      main = def;
    } else {
      main = null;
      for (const kind of ["fetch", "scheduled"]) {
        if (globalHasListeners(kind)) kinds.push(kind);
      }
    }
    const hasEntrypoints = k.ifLoaded("hasEntrypoints");
    if (hasEntrypoints !== undefined && hasEntrypoints(exportsNs)) kinds.push("rpc");
    if (kinds.length === 0) {
      throw new TypeError("no handler: export default { fetch(request, env, ctx) { ... } } or addEventListener(\"fetch\", ...)");
    }
    if (shapeSlack === null) makeShapeSlack();
    return kinds.join(",");
  },

  // setEnv builds env from the runtime's descriptor: { NAME: { kind,
  // value } }. Vars and secrets are plain strings; every other kind is made
  // by the factory its layer exports as k.<kind>Binding (00_infra.js).
  setEnv(descriptor) {
    const out = {};
    for (const name of Object.keys(descriptor)) {
      const d = descriptor[name];
      if (d.kind === "var" || d.kind === "secret") {
        out[name] = d.value;
        continue;
      }
      const make = k.bindingFactory(d.kind);
      if (make === undefined) throw new TypeError(`env.${name}: no binding of kind "${d.kind}" in this runtime`);
      out[name] = make(name, d);
    }
    env = Object.freeze(out);
  },

  get env() {
    return env;
  },

  fetch(method, url, headersFlat, bodyRid, requestId) {
    void requestId;
    const request = newDispatchRequest(method, url, headersFlat, bodyRid);
    let result;
    try {
      if (main !== null) {
        if (typeof main.fetch !== "function") throw new TypeError("no fetch handler: the default export has no fetch method");
        result = main.fetch(request, env, ctx);
      } else {
        if (!globalHasListeners("fetch")) throw new TypeError("no fetch handler: no \"fetch\" event listener");
        result = dispatchFetchEvent(request);
      }
      if (result instanceof ResponseCtor) return sendInner(responseInner(result));
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.resolve(result).then(sendSettled);
  },

  scheduled(scheduledTime, cron) {
    try {
      if (main !== null) {
        if (typeof main.scheduled !== "function") throw new TypeError("no scheduled handler: the default export has no scheduled method");
        const controller = Object.freeze({ scheduledTime, cron, noRetry() {} });
        return Promise.resolve(main.scheduled(controller, env, ctx)).then(() => undefined);
      }
      if (!globalHasListeners("scheduled")) throw new TypeError("no scheduled handler: no \"scheduled\" event listener");
      k.dispatch(globalThis, new (events().ScheduledEvent)("scheduled", { scheduledTime, cron }));
      return resolved;
    } catch (e) {
      return Promise.reject(e);
    }
  },

  queue(queueName, meta, bodies, requestId) {
    void requestId;
    const { batch, result } = k.newQueueBatch(queueName, JSON.parse(meta), bodies);
    let p;
    try {
      if (main === null || typeof main.queue !== "function") {
        throw new TypeError("no queue handler: the default export has no queue method");
      }
      p = Promise.resolve(main.queue(batch, env, ctx));
    } catch (e) {
      p = Promise.reject(e);
    }
    return p.then(
      () => result(null),
      (e) => {
        ops.op_log("error", "Uncaught (in queue) " + k.inspect(e));
        return result(e);
      },
    );
  },

  rpc(entrypoint, method, payload, requestId) {
    void requestId;
    try {
      return k.serveRpc(exportsNs, entrypoint, method, payload, env, ctx);
    } catch (e) {
      return Promise.reject(e);
    }
  },

  waitUntil() {
    if (waitList.length === 0) return resolved;
    const list = waitList;
    waitList = [];
    return Promise.allSettled(list).then((results) => {
      for (const r of results) {
        if (r.status === "rejected") ops.op_log("error", "Uncaught (in waitUntil) " + k.inspect(r.reason));
      }
      return entry.waitUntil();
    });
  },
};

return { entry };
