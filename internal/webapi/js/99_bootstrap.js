// Installs the Web API globals and returns the entry object the runtime
// dispatches through. Nothing else in the layer touches globalThis.
delete globalThis.__kumo_ops;

function defineGlobal(name, value) {
  Object.defineProperty(globalThis, name, { value, writable: true, enumerable: false, configurable: true });
}

defineGlobal("console", {
  log: (...args) => ops.op_log("log", args.join(" ")),
});

const entry = {};
return { entry };
