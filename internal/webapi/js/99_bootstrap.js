// Installs the Web API globals and returns the entry object the runtime
// dispatches through. Nothing else in the layer touches globalThis.
delete globalThis.__kumo_ops;

// https://webidl.spec.whatwg.org/#es-interfaces: interface objects,
// namespaces and operations on the global are writable, configurable and
// not enumerable.
function defineGlobal(name, value) {
  Object.defineProperty(globalThis, name, { value, writable: true, enumerable: false, configurable: true });
}

// Every global a layer exports under its own name. Names other layers may
// not have landed yet are installed when present, so adding a layer needs
// no edit here.
const globals = [
  // 01_console.js .. 12_timers.js
  "console",
  "Event",
  "EventTarget",
  "CustomEvent",
  "AbortController",
  "AbortSignal",
  "DOMException",
  "TextEncoder",
  "TextDecoder",
  "atob",
  "btoa",
  "ReadableStream",
  "ReadableStreamDefaultReader",
  "ReadableStreamDefaultController",
  "ReadableByteStreamController",
  "WritableStream",
  "WritableStreamDefaultWriter",
  "WritableStreamDefaultController",
  "TransformStream",
  "TransformStreamDefaultController",
  "ByteLengthQueuingStrategy",
  "CountQueuingStrategy",
  "TextEncoderStream",
  "TextDecoderStream",
  "structuredClone",
  "Blob",
  "File",
  "crypto",
  "Crypto",
  "CryptoKey",
  "SubtleCrypto",
  "setTimeout",
  "clearTimeout",
  "setInterval",
  "clearInterval",
  "queueMicrotask",
  "performance",
  "Performance",
  "reportError",
  // URL and fetch layers
  "URL",
  "URLSearchParams",
  "Headers",
  "Request",
  "Response",
  "FormData",
  "fetch",
  // Bindings: the base class "cloudflare:workers" and "kumo" export (package bundle)
  "WorkerEntrypoint",
];
// The globals of a lazy layer (webapi.go) that has not loaded are
// accessors: reading one loads the layer (through k), which then turns all
// of its globals into plain values (layerLoaded); assigning one replaces it
// as for any global.
const lazyAccessors = Object.create(null); // global name → its accessor, until its layer loads

function defineLazyGlobal(name) {
  // One function is both the getter (called with no argument) and the
  // setter (one): a closure per global is the cost of a lazy global.
  const accessor = (...value) => {
    if (value.length === 0) return k[name];
    defineGlobal(name, value[0]);
  };
  lazyAccessors[name] = accessor;
  Object.defineProperty(globalThis, name, { get: accessor, set: accessor, enumerable: false, configurable: true });
}

// Called by k's layer loader (00_infra.js) with the exports of a lazy
// layer it loaded.
function layerLoaded(exports) {
  // The global object is an event target (02_event.js) as soon as there
  // are event targets.
  if (exports.initEventTarget !== undefined) exports.initEventTarget(globalThis);
  for (const name of Object.keys(exports)) {
    const accessor = lazyAccessors[name];
    if (accessor === undefined) continue;
    delete lazyAccessors[name];
    // Unless script replaced it.
    const d = Object.getOwnPropertyDescriptor(globalThis, name);
    if (d !== undefined && d.get === accessor) defineGlobal(name, exports[name]);
  }
}

for (const name of globals) {
  if (k.unloaded(name)) defineLazyGlobal(name);
  else if (k[name] !== undefined) defineGlobal(name, k[name]);
}

// The global object is an event target (addEventListener("fetch"), ...),
// through global functions bound to it. They find EventTarget's methods
// when called: 02_event.js is lazy, and layerLoaded above makes the global
// object an event target when it loads.
const globalTargetMethods = {
  addEventListener(type, listener, options = undefined) {
    return k.ReflectApply(k.EventTarget.prototype.addEventListener, globalThis, arguments);
  },
  removeEventListener(type, listener, options = undefined) {
    return k.ReflectApply(k.EventTarget.prototype.removeEventListener, globalThis, arguments);
  },
  dispatchEvent(event) {
    return k.ReflectApply(k.EventTarget.prototype.dispatchEvent, globalThis, arguments);
  },
};
for (const name of ["addEventListener", "removeEventListener", "dispatchEvent"]) {
  defineGlobal(name, globalTargetMethods[name]);
}
defineGlobal("self", globalThis);

// k.entry (the runtime's dispatch object) comes from 90_dispatch.js.
return { layerLoaded };
