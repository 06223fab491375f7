// Service bindings: env.NAME is another app, called in process with its own
// limits, instances and usage (https://developers.cloudflare.com/workers/runtime-apis/bindings/service-bindings/).
//   env.NAME.fetch(input, init)  runs the other app's fetch handler and
//                                resolves to a Response whose body streams;
//   env.NAME.method(...args)     calls a method of the other app's
//                                WorkerEntrypoint class (RPC); arguments and
//                                result cross by structured serialisation
//                                (07_structured_serialize.js).
// Ops (service_ops.go), each call a subrequest of the caller:
// op_service_fetch_start checks the request and returns an id (a streamed
// request body is written under that id with op_fetch_body_write, as for
// fetch), op_service_fetch_send resolves to the response head, and
// op_service_call runs one RPC. Both resolve to [true, ...result] or to
// [false, name, message, reason] for a failure, rebuilt here as an error of
// the same name; reason is set when the platform, not the called code,
// failed (e.g. "exceeded-cpu", "no-app").
//
// The callee side: serveRpc (called by 90_dispatch.js's entry.rpc)
// instantiates the exported WorkerEntrypoint class with (ctx, env) and
// calls the method. Users import WorkerEntrypoint from "cloudflare:workers"
// or "kumo"; the bundler maps both to this class (package bundle).

const errorCtors = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };
const domExceptionNames = new Set([
  "AbortError", "DataCloneError", "InvalidStateError", "NotSupportedError", "NotFoundError", "TimeoutError",
  "QuotaExceededError", "SecurityError", "NetworkError", "InvalidAccessError", "InvalidCharacterError",
]);
const ObjectPrototype = Object.prototype;
const ObjectHasOwn = Object.hasOwn;
const ProxyCtor = Proxy;

// https://developers.cloudflare.com/workers/runtime-apis/rpc/ — the base
// class of RPC entrypoints (and of class-based default exports).
class WorkerEntrypoint {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}

function isEntrypointClass(v) {
  return typeof v === "function" && v.prototype instanceof WorkerEntrypoint;
}

// classHandlers adapts a default export that is a WorkerEntrypoint class to
// the object form 90_dispatch.js calls: each event gets a new instance,
// made with (ctx, env), whose method takes the event's argument.
function classHandlers(cls) {
  const proto = cls.prototype;
  const h = {};
  for (const kind of ["fetch", "scheduled", "queue"]) {
    if (typeof proto[kind] === "function") {
      h[kind] = (arg, env, ctx) => new cls(ctx, env)[kind](arg);
    }
  }
  return h;
}

// hasEntrypoints reports whether the module exports any RPC entrypoint.
function hasEntrypoints(ns) {
  if (ns === null || ns === undefined) return false;
  for (const name of Object.keys(ns)) {
    if (isEntrypointClass(ns[name])) return true;
  }
  return false;
}

// serveRpc runs one RPC call on the callee: entrypoint "" is the default
// export. It resolves to the serialised result.
function serveRpc(ns, entrypoint, method, payload, env, ctx) {
  const cls = ns === null || ns === undefined ? undefined : (entrypoint === "" ? ns.default : ns[entrypoint]);
  if (!isEntrypointClass(cls)) {
    throw new TypeError(entrypoint === ""
      ? "RPC: the default export is not a class extending WorkerEntrypoint"
      : `RPC: the app exports no class "${entrypoint}" extending WorkerEntrypoint`);
  }
  const args = k.deserialize(payload);
  if (!Array.isArray(args)) throw new TypeError("RPC: the arguments are not an array");
  const instance = new cls(ctx, env);
  const fn = method === "constructor" ? undefined : instance[method];
  if (typeof fn !== "function" || (ObjectHasOwn(ObjectPrototype, method) && fn === ObjectPrototype[method])) {
    throw new TypeError(`The RPC receiver does not implement the method "${method}".`);
  }
  return Promise.resolve(k.ReflectApply(fn, instance, args)).then(k.serialize);
}

// remoteError rebuilds a failure an op reported as [false, name, message,
// reason].
function remoteError(r) {
  const name = r[1], message = r[2], reason = r[3];
  let e;
  if (ObjectHasOwn(errorCtors, name)) {
    e = new errorCtors[name](message);
  } else if (domExceptionNames.has(name)) {
    e = new k.DOMException(message, name);
  } else {
    e = new Error(message);
    if (name !== "" && name !== "Error") {
      Object.defineProperty(e, "name", { value: name, writable: true, enumerable: false, configurable: true });
    }
  }
  if (reason !== "") {
    Object.defineProperty(e, "reason", { value: reason, writable: true, enumerable: false, configurable: true });
  }
  return e;
}

function abortReason(signal) {
  return signal.reason !== undefined ? signal.reason : new k.DOMException("The operation was aborted.", "AbortError");
}

// serviceFetch is env.NAME.fetch: fetch()'s steps (26_fetch.js) with the
// other app in place of the network. Redirects are returned, not followed.
async function serviceFetch(name, input, init) {
  const request = new k.Request(input, init);
  const inner = k.requestInner(request);
  const signal = inner.signal;
  if (signal !== null && signal.aborted) throw abortReason(signal);

  let body = null;
  if (inner.body !== null) {
    if (inner.body.unusable) throw new TypeError(`Failed to execute 'fetch' on 'env.${name}': the request body was already used.`);
    body = await k.requestBodyForSend(inner.body);
    if (signal !== null && signal.aborted) {
      if (typeof body === "number" && body >= 0) ops.op_resource_close(body);
      throw abortReason(signal);
    }
  }
  const id = ops.op_service_fetch_start(name, inner.method, inner.url, inner.headerText, body);
  if (body === -1) k.pumpBody(id, inner.body);

  let onAbort = null;
  if (signal !== null) {
    onAbort = () => ops.op_fetch_cancel(id);
    signal.addEventListener("abort", onAbort, { once: true });
  }
  const head = await ops.op_service_fetch_send(id);
  if (head[0] !== true) {
    if (onAbort !== null) signal.removeEventListener("abort", onAbort);
    if (signal !== null && signal.aborted) throw abortReason(signal);
    throw remoteError(head);
  }
  const response = k.newFetchResponse(head[1], head[2], head[3], head[4], inner.url, false);
  if (onAbort !== null) {
    const rb = k.responseInner(response).body;
    if (rb === null) {
      signal.removeEventListener("abort", onAbort);
    } else {
      rb.signal = signal;
      rb.onDone = () => signal.removeEventListener("abort", onAbort);
    }
  }
  return response;
}

// serviceCall is env.NAME.method(...args).
async function serviceCall(name, method, args) {
  const r = await ops.op_service_call(name, method, k.serialize(args));
  if (r[0] !== true) throw remoteError(r);
  return k.deserialize(r[1]);
}

// Property names the stub does not turn into RPC methods: "then" must be
// undefined so that `await env.NAME` yields the stub itself, and toJSON so
// that JSON.stringify(env) makes no call.
const notMethods = new Set(["then", "toJSON"]);

// serviceBinding makes env.NAME: a Proxy whose every other property is an
// async function calling the method of that name on the other app.
function serviceBinding(name) {
  const fetch = function fetch(input, init = undefined) {
    k.requiredArguments(arguments.length, 1, `Failed to execute 'fetch' on 'env.${name}'`);
    return serviceFetch(name, input, init);
  };
  const methods = new Map();
  // Symbol-keyed properties are never methods: these let the stub be
  // logged and turned into a string without calling anything.
  const symbols = {
    [k.customInspect]: () => `ServiceBinding { ${name} }`,
    [Symbol.toPrimitive]: () => `[ServiceBinding ${name}]`,
    [Symbol.toStringTag]: "ServiceBinding",
  };
  const target = {};
  return new ProxyCtor(target, {
    get(_t, prop) {
      if (prop === "fetch") return fetch;
      if (typeof prop !== "string") return ObjectHasOwn(symbols, prop) ? symbols[prop] : undefined;
      if (notMethods.has(prop)) return undefined;
      let m = methods.get(prop);
      if (m === undefined) {
        // Named after the method, for stack traces.
        m = { [prop]: (...args) => serviceCall(name, prop, args) }[prop];
        methods.set(prop, m);
      }
      return m;
    },
    has(_t, prop) {
      return typeof prop === "string" && !notMethods.has(prop);
    },
    set() {
      return false;
    },
    defineProperty() {
      return false;
    },
    deleteProperty() {
      return false;
    },
  });
}

// serviceBinding(name) is env.NAME of a "service" binding (00_infra.js
// bindingFactory).
return { WorkerEntrypoint, isEntrypointClass, classHandlers, hasEntrypoints, serveRpc, serviceBinding };
