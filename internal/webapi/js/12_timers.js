// Timers: https://html.spec.whatwg.org/multipage/timers-and-user-prompts.html#timers
// queueMicrotask: https://html.spec.whatwg.org/multipage/timers-and-user-prompts.html#microtask-queuing
// (performance is 13_performance.js)
//
// Each timer is one async op (op_timer_start) whose promise resolves with
// the timer's id. The Go side hands due timers over one at a time, in
// deadline then creation order, and waits for this layer to acknowledge
// each (op_timer_cancel for a timeout, op_timer_start again for an
// interval) before the next, so every callback runs in its own turn with
// its microtasks drained first.
const {
  requiredArguments,
  toCallback,
  toLong,
  ReflectApply,
  PromiseResolve,
  uponPromise,
} = k;

// id → { callback, args, repeat, ms }
const timers = new Map();
let nextId = 1;

// The instance's time origin (performance.timeOrigin, 13_performance.js):
// the first op_timer_now call anchors it.
ops.op_timer_now();
const timeOrigin = Date.now();

function onTimer(id) {
  const t = timers.get(id);
  if (t === undefined) return; // cleared after it fired: already acknowledged
  if (!t.repeat) {
    timers.delete(id);
    ops.op_timer_cancel(id);
  }
  try {
    ReflectApply(t.callback, globalThis, t.args);
  } catch (e) {
    k.reportException(e);
  }
  if (t.repeat && timers.get(id) === t) uponPromise(ops.op_timer_start(id, t.ms), onTimer);
}

// https://html.spec.whatwg.org/multipage/timers-and-user-prompts.html#timer-initialisation-steps
function initializeTimer(callback, timeout, args, repeat, prefix) {
  if (typeof callback !== "function") {
    throw new TypeError(`${prefix}: parameter 1 is not a function (code strings are not supported).`);
  }
  let ms = toLong(timeout, prefix, "timeout");
  if (ms < 0) ms = 0;
  const id = nextId++;
  timers.set(id, { callback, args, repeat, ms });
  uponPromise(ops.op_timer_start(id, ms), onTimer);
  return id;
}

function setTimeout(callback, timeout = 0, ...args) {
  requiredArguments(arguments.length, 1, "Failed to execute 'setTimeout'");
  return initializeTimer(callback, timeout, args, false, "Failed to execute 'setTimeout'");
}

function setInterval(callback, timeout = 0, ...args) {
  requiredArguments(arguments.length, 1, "Failed to execute 'setInterval'");
  return initializeTimer(callback, timeout, args, true, "Failed to execute 'setInterval'");
}

function clearTimer(id) {
  id = toLong(id, "clearTimeout", "id");
  if (timers.delete(id)) ops.op_timer_cancel(id);
}

function clearTimeout(id = 0) {
  clearTimer(id);
}

function clearInterval(id = 0) {
  clearTimer(id);
}

// For platform code (AbortSignal.timeout): a one-shot timer without the
// WebIDL conversions.
function timerStart(callback, ms) {
  const id = nextId++;
  timers.set(id, { callback, args: [], repeat: false, ms });
  uponPromise(ops.op_timer_start(id, ms), onTimer);
  return id;
}

function timerClear(id) {
  if (timers.delete(id)) ops.op_timer_cancel(id);
}

// https://html.spec.whatwg.org/multipage/timers-and-user-prompts.html#dom-queuemicrotask
function queueMicrotask(callback) {
  requiredArguments(arguments.length, 1, "Failed to execute 'queueMicrotask'");
  toCallback(callback, "Failed to execute 'queueMicrotask'", "parameter 1");
  uponPromise(PromiseResolve(undefined), () => {
    try {
      callback();
    } catch (e) {
      k.reportException(e);
    }
  });
}

// https://html.spec.whatwg.org/multipage/webappapis.html#dom-reporterror
function reportError(e) {
  requiredArguments(arguments.length, 1, "Failed to execute 'reportError'");
  k.reportException(e);
}

return {
  setTimeout,
  setInterval,
  clearTimeout,
  clearInterval,
  queueMicrotask,
  reportError,
  timerStart,
  timerClear,
  timeOrigin,
};
