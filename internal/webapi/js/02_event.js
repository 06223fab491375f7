// Event, EventTarget, CustomEvent: https://dom.spec.whatwg.org/#events
// There is no tree here: an event's path is its target alone, so dispatch
// runs the target's capture listeners, then its other listeners.
const {
  internalSymbol,
  customInspect,
  configureInterface,
  requiredArguments,
  toDOMString,
  toDictionary,
  toBoolean,
} = k;

const _type = internalSymbol("[[type]]");
const _flags = internalSymbol("[[flags]]");
const _target = internalSymbol("[[target]]");
const _currentTarget = internalSymbol("[[currentTarget]]");
const _phase = internalSymbol("[[eventPhase]]");
const _timeStamp = internalSymbol("[[timeStamp]]");
const _listeners = internalSymbol("[[eventListenerList]]");
const _handlers = internalSymbol("[[eventHandlers]]");
const _detail = internalSymbol("[[detail]]");

// Event flags, one bit each.
const STOP_PROPAGATION = 1;
const STOP_IMMEDIATE = 2;
const CANCELED = 4;
const IN_PASSIVE_LISTENER = 8;
const COMPOSED = 16;
const INITIALIZED = 32;
const DISPATCH = 64;
const BUBBLES = 128;
const CANCELABLE = 256;
const TRUSTED = 512;

const NONE = 0;
const CAPTURING_PHASE = 1;
const AT_TARGET = 2;
const BUBBLING_PHASE = 3;

// https://dom.spec.whatwg.org/#interface-event
class Event {
  constructor(type, eventInitDict = undefined) {
    requiredArguments(arguments.length, 1, "Failed to construct 'Event'");
    this[_type] = toDOMString(type, "Failed to construct 'Event'", "Argument 1");
    let flags = INITIALIZED;
    if (eventInitDict !== undefined && eventInitDict !== null) {
      const init = toDictionary(eventInitDict, "Failed to construct 'Event'", "Argument 2");
      if (init.bubbles) flags |= BUBBLES;
      if (init.cancelable) flags |= CANCELABLE;
      if (init.composed) flags |= COMPOSED;
    }
    this[_flags] = flags;
    this[_target] = null;
    this[_currentTarget] = null;
    this[_phase] = NONE;
    this[_timeStamp] = ops.op_timer_now();
  }

  get type() {
    checkEvent(this);
    return this[_type];
  }
  get target() {
    checkEvent(this);
    return this[_target];
  }
  get srcElement() {
    checkEvent(this);
    return this[_target];
  }
  get currentTarget() {
    checkEvent(this);
    return this[_currentTarget];
  }
  // https://dom.spec.whatwg.org/#dom-event-composedpath
  composedPath() {
    checkEvent(this);
    return this[_currentTarget] === null ? [] : [this[_currentTarget]];
  }
  get eventPhase() {
    checkEvent(this);
    return this[_phase];
  }
  stopPropagation() {
    checkEvent(this);
    this[_flags] |= STOP_PROPAGATION;
  }
  get cancelBubble() {
    checkEvent(this);
    return (this[_flags] & STOP_PROPAGATION) !== 0;
  }
  set cancelBubble(value) {
    checkEvent(this);
    if (value) this[_flags] |= STOP_PROPAGATION;
  }
  stopImmediatePropagation() {
    checkEvent(this);
    this[_flags] |= STOP_PROPAGATION | STOP_IMMEDIATE;
  }
  get bubbles() {
    checkEvent(this);
    return (this[_flags] & BUBBLES) !== 0;
  }
  get cancelable() {
    checkEvent(this);
    return (this[_flags] & CANCELABLE) !== 0;
  }
  get returnValue() {
    checkEvent(this);
    return (this[_flags] & CANCELED) === 0;
  }
  set returnValue(value) {
    checkEvent(this);
    if (!value) setCanceled(this);
  }
  preventDefault() {
    checkEvent(this);
    setCanceled(this);
  }
  get defaultPrevented() {
    checkEvent(this);
    return (this[_flags] & CANCELED) !== 0;
  }
  get composed() {
    checkEvent(this);
    return (this[_flags] & COMPOSED) !== 0;
  }
  // The spec makes isTrusted an own property of each event
  // ([LegacyUnforgeable]); a prototype getter keeps events cheap.
  get isTrusted() {
    checkEvent(this);
    return (this[_flags] & TRUSTED) !== 0;
  }
  get timeStamp() {
    checkEvent(this);
    return this[_timeStamp];
  }
  // https://dom.spec.whatwg.org/#dom-event-initevent
  initEvent(type, bubbles = false, cancelable = false) {
    checkEvent(this);
    requiredArguments(arguments.length, 1, "Failed to execute 'initEvent' on 'Event'");
    if ((this[_flags] & DISPATCH) !== 0) return;
    let flags = INITIALIZED | (this[_flags] & (COMPOSED | TRUSTED));
    if (bubbles) flags |= BUBBLES;
    if (cancelable) flags |= CANCELABLE;
    this[_flags] = flags;
    this[_type] = toDOMString(type, "Failed to execute 'initEvent' on 'Event'", "Argument 1");
    this[_target] = null;
  }

  [customInspect](inspect) {
    return `${this.constructor.name} ${inspect({
      type: this[_type],
      defaultPrevented: this.defaultPrevented,
      cancelable: this.cancelable,
      timeStamp: this[_timeStamp],
    })}`;
  }
}

const constants = {
  NONE: { value: NONE, enumerable: true },
  CAPTURING_PHASE: { value: CAPTURING_PHASE, enumerable: true },
  AT_TARGET: { value: AT_TARGET, enumerable: true },
  BUBBLING_PHASE: { value: BUBBLING_PHASE, enumerable: true },
};
Object.defineProperties(Event, constants);
Object.defineProperties(Event.prototype, constants);
configureInterface(Event);

function checkEvent(e) {
  if (e === null || typeof e !== "object" || !(_flags in e)) {
    throw new TypeError("Illegal invocation: not an Event");
  }
}

// https://dom.spec.whatwg.org/#set-the-canceled-flag
function setCanceled(e) {
  const f = e[_flags];
  if ((f & CANCELABLE) !== 0 && (f & IN_PASSIVE_LISTENER) === 0) e[_flags] = f | CANCELED;
}

function isEvent(v) {
  return v !== null && typeof v === "object" && _flags in v;
}

// https://dom.spec.whatwg.org/#interface-customevent
class CustomEvent extends Event {
  constructor(type, eventInitDict = undefined) {
    requiredArguments(arguments.length, 1, "Failed to construct 'CustomEvent'");
    super(type, eventInitDict);
    const detail = eventInitDict === undefined || eventInitDict === null ? null : eventInitDict.detail;
    this[_detail] = detail === undefined ? null : detail;
  }
  get detail() {
    if (!(this !== null && typeof this === "object" && _detail in this)) {
      throw new TypeError("Illegal invocation: not a CustomEvent");
    }
    return this[_detail];
  }
  initCustomEvent(type, bubbles = false, cancelable = false, detail = null) {
    requiredArguments(arguments.length, 1, "Failed to execute 'initCustomEvent' on 'CustomEvent'");
    if ((this[_flags] & DISPATCH) !== 0) return;
    this.initEvent(type, bubbles, cancelable);
    this[_detail] = detail;
  }
}
configureInterface(CustomEvent);

// https://dom.spec.whatwg.org/#interface-eventtarget
class EventTarget {
  constructor() {
    this[_listeners] = null; // type → listener records, made on first add
  }

  // https://dom.spec.whatwg.org/#dom-eventtarget-addeventlistener
  addEventListener(type, callback, options = undefined) {
    const self = this ?? globalThis;
    checkTarget(self);
    const prefix = "Failed to execute 'addEventListener' on 'EventTarget'";
    requiredArguments(arguments.length, 2, prefix);
    type = toDOMString(type, prefix, "Argument 1");
    let capture = false, once = false, passive = false, signal = null;
    if (typeof options === "boolean") {
      capture = options;
    } else if (options !== undefined && options !== null) {
      options = toDictionary(options, prefix, "Argument 3");
      capture = toBoolean(options.capture);
      once = toBoolean(options.once);
      passive = toBoolean(options.passive);
      if (options.signal !== undefined) {
        signal = options.signal;
        // 03_abort.js is lazy: with it not loaded, no AbortSignal exists.
        const AbortSignal = k.ifLoaded("AbortSignal");
        if (AbortSignal === undefined || !(signal instanceof AbortSignal)) {
          throw new TypeError(`${prefix}: Failed to read the 'signal' property from 'AddEventListenerOptions': Failed to convert value to 'AbortSignal'.`);
        }
      }
    }
    if (callback === null || callback === undefined) return;
    if (typeof callback !== "function" && typeof callback !== "object") {
      throw new TypeError(`${prefix}: The callback provided as parameter 2 is not an object.`);
    }
    addListener(self, { type, callback, capture, once, passive, signal, removed: false });
  }

  // https://dom.spec.whatwg.org/#dom-eventtarget-removeeventlistener
  removeEventListener(type, callback, options = undefined) {
    const self = this ?? globalThis;
    checkTarget(self);
    const prefix = "Failed to execute 'removeEventListener' on 'EventTarget'";
    requiredArguments(arguments.length, 2, prefix);
    type = toDOMString(type, prefix, "Argument 1");
    const capture = typeof options === "boolean"
      ? options
      : options !== undefined && options !== null && toBoolean(toDictionary(options, prefix, "Argument 3").capture);
    const list = self[_listeners]?.get(type);
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      const l = list[i];
      if (l.callback === callback && l.capture === capture) {
        removeListener(self, l);
        return;
      }
    }
  }

  // https://dom.spec.whatwg.org/#dom-eventtarget-dispatchevent
  dispatchEvent(event) {
    const self = this ?? globalThis;
    checkTarget(self);
    requiredArguments(arguments.length, 1, "Failed to execute 'dispatchEvent' on 'EventTarget'");
    if (!isEvent(event)) {
      throw new TypeError("Failed to execute 'dispatchEvent' on 'EventTarget': parameter 1 is not of type 'Event'.");
    }
    const f = event[_flags];
    if ((f & DISPATCH) !== 0 || (f & INITIALIZED) === 0) {
      throw new k.DOMException("Failed to execute 'dispatchEvent' on 'EventTarget': The event is already being dispatched.", "InvalidStateError");
    }
    event[_flags] = f & ~TRUSTED;
    return dispatch(self, event);
  }
}
configureInterface(EventTarget);

function checkTarget(t) {
  if (t === null || (typeof t !== "object" && typeof t !== "function") || !(_listeners in t)) {
    throw new TypeError("Illegal invocation: not an EventTarget");
  }
}

// https://dom.spec.whatwg.org/#add-an-event-listener
function addListener(target, listener) {
  const signal = listener.signal;
  if (signal !== null && signal.aborted) return;
  let map = target[_listeners];
  if (map === null) map = target[_listeners] = new Map();
  let list = map.get(listener.type);
  if (list === undefined) {
    map.set(listener.type, list = []);
  } else {
    for (let i = 0; i < list.length; i++) {
      if (list[i].callback === listener.callback && list[i].capture === listener.capture) return;
    }
  }
  list.push(listener);
  if (signal !== null) k.abortSignalAdd(signal, () => removeListener(target, listener));
}

// https://dom.spec.whatwg.org/#remove-an-event-listener
function removeListener(target, listener) {
  listener.removed = true;
  const map = target[_listeners];
  const list = map?.get(listener.type);
  if (list === undefined) return;
  const i = list.indexOf(listener);
  if (i >= 0) list.splice(i, 1);
  if (list.length === 0) map.delete(listener.type);
}

function hasListeners(target, type) {
  const map = target[_listeners];
  return map !== null && map !== undefined && map.has(type);
}

// https://dom.spec.whatwg.org/#concept-event-dispatch, for a path of one
// target. Listener exceptions are reported, as in browsers; with rethrow the
// first one is thrown after dispatch instead (a fetch listener that throws
// fails its request, as in Workers).
function dispatch(target, event, rethrow = false) {
  event[_flags] |= DISPATCH;
  event[_target] = target;
  const map = target[_listeners];
  const list = map === null || map === undefined ? undefined : map.get(event[_type]);
  if (list !== undefined) {
    event[_phase] = AT_TARGET;
    event[_currentTarget] = target;
    // https://dom.spec.whatwg.org/#concept-event-listener-inner-invoke works
    // on a clone so listeners added during dispatch do not run.
    const listeners = list.length === 1 ? [list[0]] : list.slice();
    const errors = rethrow ? [] : undefined;
    invoke(target, event, listeners, true, errors);
    invoke(target, event, listeners, false, errors);
    if (errors !== undefined && errors.length > 0) {
      event[_phase] = NONE;
      event[_currentTarget] = null;
      event[_flags] &= ~(DISPATCH | STOP_PROPAGATION | STOP_IMMEDIATE);
      throw errors[0];
    }
  }
  event[_phase] = NONE;
  event[_currentTarget] = null;
  event[_flags] &= ~(DISPATCH | STOP_PROPAGATION | STOP_IMMEDIATE);
  return (event[_flags] & CANCELED) === 0;
}

function invoke(target, event, listeners, capturePass, errors) {
  if ((event[_flags] & STOP_PROPAGATION) !== 0 && !capturePass) return;
  for (let i = 0; i < listeners.length; i++) {
    const l = listeners[i];
    if (l.removed || l.capture !== capturePass) continue;
    if (l.once) removeListener(target, l);
    if (l.passive) event[_flags] |= IN_PASSIVE_LISTENER;
    try {
      const cb = l.callback;
      if (typeof cb === "function") {
        cb.call(event[_currentTarget], event);
      } else {
        const handleEvent = cb.handleEvent;
        if (typeof handleEvent !== "function") {
          throw new TypeError("'handleEvent' property of the event listener is not callable");
        }
        handleEvent.call(cb, event);
      }
    } catch (e) {
      if (errors !== undefined) errors.push(e);
      else k.reportException(e);
    }
    event[_flags] &= ~IN_PASSIVE_LISTENER;
    if ((event[_flags] & STOP_IMMEDIATE) !== 0) return;
  }
}

// https://html.spec.whatwg.org/multipage/webappapis.html#event-handler-attributes:
// defineEventHandler(proto, "abort") makes proto.onabort an attribute whose
// non-null value is called through a listener added when first set.
function defineEventHandler(proto, name) {
  Object.defineProperty(proto, "on" + name, {
    get() {
      checkTarget(this);
      return this[_handlers]?.[name]?.value ?? null;
    },
    set(value) {
      checkTarget(this);
      if (typeof value !== "function" && (typeof value !== "object" || value === null)) value = null;
      let handlers = this[_handlers];
      if (handlers === undefined) handlers = this[_handlers] = Object.create(null);
      let h = handlers[name];
      if (value === null) {
        if (h !== undefined) {
          removeListener(this, h.listener);
          delete handlers[name];
        }
        return;
      }
      if (h === undefined) {
        h = handlers[name] = { value, listener: null };
        h.listener = {
          type: name,
          callback: function (event) {
            const v = h.value;
            if (typeof v !== "function") return;
            const r = v.call(this, event);
            if (r === false) event.preventDefault();
          },
          capture: false,
          once: false,
          passive: false,
          signal: null,
          removed: false,
        };
        addListener(this, h.listener);
      } else {
        h.value = value;
      }
    },
    enumerable: true,
    configurable: true,
  });
}

// Constructs a trusted event for the platform to dispatch (e.g. "abort").
function newTrustedEvent(type, ctor = Event, init = undefined) {
  const e = new ctor(type, init);
  e[_flags] |= TRUSTED;
  return e;
}

// Makes an existing object (globalThis) an event target.
function initEventTarget(obj) {
  obj[_listeners] = null;
}

return {
  Event,
  CustomEvent,
  EventTarget,
  isEvent,
  dispatch,
  hasListeners,
  defineEventHandler,
  newTrustedEvent,
  initEventTarget,
};
