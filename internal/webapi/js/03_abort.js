// AbortController, AbortSignal: https://dom.spec.whatwg.org/#aborting-ongoing-activities
const {
  internalSymbol,
  illegalConstructorKey,
  customInspect,
  configureInterface,
  requiredArguments,
  toSequence,
  toUnsignedLongLong,
  EventTarget,
  defineEventHandler,
  newTrustedEvent,
  dispatch,
} = k;

const _aborted = internalSymbol("[[aborted]]");
const _reason = internalSymbol("[[abort reason]]");
const _algorithms = internalSymbol("[[abort algorithms]]");
const _dependent = internalSymbol("[[dependent]]");
const _sources = internalSymbol("[[source signals]]");
const _dependents = internalSymbol("[[dependent signals]]");
const _signal = internalSymbol("[[signal]]");
const _timer = internalSymbol("[[timer]]");

// https://dom.spec.whatwg.org/#interface-AbortSignal
class AbortSignal extends EventTarget {
  constructor(key = undefined) {
    if (key !== illegalConstructorKey) throw new TypeError("Illegal constructor");
    super();
    this[_aborted] = false;
    this[_reason] = undefined;
    this[_algorithms] = null;
    this[_dependent] = false;
    this[_sources] = null;
    this[_dependents] = null;
  }

  // https://dom.spec.whatwg.org/#dom-abortsignal-abort
  static abort(reason = undefined) {
    const signal = new AbortSignal(illegalConstructorKey);
    signal[_aborted] = true;
    signal[_reason] = reason === undefined ? newAbortError() : reason;
    return signal;
  }

  // https://dom.spec.whatwg.org/#dom-abortsignal-timeout
  static timeout(milliseconds) {
    const prefix = "Failed to execute 'timeout' on 'AbortSignal'";
    requiredArguments(arguments.length, 1, prefix);
    const ms = toUnsignedLongLong(milliseconds, prefix, "Argument 1", { enforceRange: true });
    const signal = new AbortSignal(illegalConstructorKey);
    // k.timerStart comes from 12_timers.js, loaded after this layer.
    signal[_timer] = k.timerStart(() => {
      signal[_timer] = undefined;
      signalAbort(signal, new k.DOMException("The operation timed out.", "TimeoutError"));
    }, ms);
    return signal;
  }

  // https://dom.spec.whatwg.org/#dom-abortsignal-any
  static any(signals) {
    const prefix = "Failed to execute 'any' on 'AbortSignal'";
    requiredArguments(arguments.length, 1, prefix);
    const list = toSequence(signals, prefix, "Argument 1", (s) => {
      if (!(s instanceof AbortSignal)) {
        throw new TypeError(`${prefix}: Failed to convert value to 'AbortSignal'.`);
      }
      return s;
    });
    return createDependentAbortSignal(list);
  }

  get aborted() {
    checkSignal(this);
    return this[_aborted];
  }

  get reason() {
    checkSignal(this);
    return this[_reason];
  }

  // https://dom.spec.whatwg.org/#dom-abortsignal-throwifaborted
  throwIfAborted() {
    checkSignal(this);
    if (this[_aborted]) throw this[_reason];
  }

  [customInspect](inspect) {
    return `AbortSignal ${inspect({ aborted: this[_aborted] })}`;
  }
}
defineEventHandler(AbortSignal.prototype, "abort");
configureInterface(AbortSignal);

function checkSignal(s) {
  if (s === null || typeof s !== "object" || !(_aborted in s)) {
    throw new TypeError("Illegal invocation: not an AbortSignal");
  }
}

function newAbortError() {
  return new k.DOMException("This operation was aborted", "AbortError");
}

function newAbortSignal() {
  return new AbortSignal(illegalConstructorKey);
}

// https://dom.spec.whatwg.org/#abortsignal-add: algorithm runs once when
// the signal aborts. Returns it, to pass to abortSignalRemove.
function abortSignalAdd(signal, algorithm) {
  if (signal[_aborted]) return algorithm;
  let algorithms = signal[_algorithms];
  if (algorithms === null) algorithms = signal[_algorithms] = new Set();
  algorithms.add(algorithm);
  return algorithm;
}

// https://dom.spec.whatwg.org/#abortsignal-remove
function abortSignalRemove(signal, algorithm) {
  signal[_algorithms]?.delete(algorithm);
}

// https://dom.spec.whatwg.org/#abortsignal-signal-abort
function signalAbort(signal, reason = undefined) {
  if (signal[_aborted]) return;
  signal[_aborted] = true;
  signal[_reason] = reason === undefined ? newAbortError() : reason;
  const toAbort = [];
  const dependents = signal[_dependents];
  if (dependents !== null) {
    signal[_dependents] = null;
    for (const d of dependents) {
      if (d[_aborted]) continue;
      d[_aborted] = true;
      d[_reason] = signal[_reason];
      toAbort.push(d);
    }
  }
  runAbortSteps(signal);
  for (const d of toAbort) runAbortSteps(d);
}

// https://dom.spec.whatwg.org/#run-the-abort-steps
function runAbortSteps(signal) {
  if (signal[_timer] !== undefined) {
    k.timerClear(signal[_timer]);
    signal[_timer] = undefined;
  }
  const algorithms = signal[_algorithms];
  if (algorithms !== null) {
    signal[_algorithms] = null;
    for (const a of algorithms) {
      try {
        a();
      } catch (e) {
        k.reportException(e);
      }
    }
  }
  dispatch(signal, newTrustedEvent("abort"));
  // A dependent signal that aborted no longer needs its sources.
  const sources = signal[_sources];
  if (sources !== null) {
    signal[_sources] = null;
    for (const s of sources) s[_dependents]?.delete(signal);
  }
}

// https://dom.spec.whatwg.org/#create-a-dependent-abort-signal
function createDependentAbortSignal(signals) {
  const result = new AbortSignal(illegalConstructorKey);
  for (const s of signals) {
    if (s[_aborted]) {
      result[_aborted] = true;
      result[_reason] = s[_reason];
      return result;
    }
  }
  result[_dependent] = true;
  const sources = new Set();
  for (const s of signals) {
    if (!s[_dependent]) {
      sources.add(s);
    } else if (s[_sources] !== null) {
      for (const source of s[_sources]) sources.add(source);
    }
  }
  // Sources hold their dependents strongly (the spec's weak sets): a
  // dependent signal with listeners must stay alive while a source can
  // still abort it; the link is dropped once it aborts.
  result[_sources] = sources;
  for (const source of sources) {
    let deps = source[_dependents];
    if (deps === null) deps = source[_dependents] = new Set();
    deps.add(result);
  }
  return result;
}

// https://dom.spec.whatwg.org/#interface-abortcontroller
class AbortController {
  constructor() {
    this[_signal] = new AbortSignal(illegalConstructorKey);
  }

  get signal() {
    checkController(this);
    return this[_signal];
  }

  // https://dom.spec.whatwg.org/#dom-abortcontroller-abort
  abort(reason = undefined) {
    checkController(this);
    signalAbort(this[_signal], reason);
  }

  [customInspect](inspect) {
    return `AbortController ${inspect({ signal: this[_signal] })}`;
  }
}
configureInterface(AbortController);

function checkController(c) {
  if (c === null || typeof c !== "object" || !(_signal in c)) {
    throw new TypeError("Illegal invocation: not an AbortController");
  }
}

return {
  AbortSignal,
  AbortController,
  newAbortSignal,
  abortSignalAdd,
  abortSignalRemove,
  signalAbort,
  createDependentAbortSignal,
};
