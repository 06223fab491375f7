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
for (const name of globals) {
  if (k[name] !== undefined) defineGlobal(name, k[name]);
}

// The global object is an event target (addEventListener("error"), ...),
// through global functions bound to it.
k.initEventTarget(globalThis);
const { addEventListener, removeEventListener, dispatchEvent } = k.EventTarget.prototype;
const globalTargetMethods = {
  addEventListener(type, listener, options = undefined) {
    return k.ReflectApply(addEventListener, globalThis, arguments);
  },
  removeEventListener(type, listener, options = undefined) {
    return k.ReflectApply(removeEventListener, globalThis, arguments);
  },
  dispatchEvent(event) {
    return k.ReflectApply(dispatchEvent, globalThis, arguments);
  },
};
for (const name of ["addEventListener", "removeEventListener", "dispatchEvent"]) {
  defineGlobal(name, globalTargetMethods[name]);
}
defineGlobal("self", globalThis);

// k.entry (the runtime's dispatch object) comes from 90_dispatch.js.
return {};
