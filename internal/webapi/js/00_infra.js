// Intrinsics the API layer relies on, captured before user code can replace
// them, and small helpers shared by every layer: WebIDL argument
// conversions, brand checks, internal-slot symbols and buffer helpers.
const ObjectFreeze = Object.freeze;
const ObjectDefineProperty = Object.defineProperty;
const ObjectCreate = Object.create;
const ObjectGetPrototypeOf = Object.getPrototypeOf;
const ObjectSetPrototypeOf = Object.setPrototypeOf;
const ObjectAssign = Object.assign;
const ObjectHasOwn = Object.hasOwn;
const ProxyCtor = Proxy;
const ArrayBufferCtor = ArrayBuffer;
const ArrayBufferIsView = ArrayBuffer.isView;
const ArrayIsArray = Array.isArray;
const MathMin = Math.min;
const MathMax = Math.max;
const NumberIsFinite = Number.isFinite;
const NumberIsNaN = Number.isNaN;
const SymbolIterator = Symbol.iterator;
const SymbolAsyncIterator = Symbol.asyncIterator;
const SymbolToStringTag = Symbol.toStringTag;
const PromiseCtor = Promise;
const PromiseResolve = Promise.resolve.bind(Promise);
const PromiseReject = Promise.reject.bind(Promise);
const PromisePrototypeThen = Promise.prototype.then;
const ReflectApply = Reflect.apply;
const TypedArrayPrototype = ObjectGetPrototypeOf(Uint8Array.prototype);
const typedArrayToStringTag = Object.getOwnPropertyDescriptor(TypedArrayPrototype, SymbolToStringTag).get;
const typedArrayBuffer = Object.getOwnPropertyDescriptor(TypedArrayPrototype, "buffer").get;
const arrayBufferByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength").get;
const dataViewBuffer = Object.getOwnPropertyDescriptor(DataView.prototype, "buffer").get;

// Symbols naming internal slots. inspect (01_console.js) hides them, so a
// logged object shows its public face only.
const internalSymbols = new Set();
function internalSymbol(description) {
  const s = Symbol(description);
  internalSymbols.add(s);
  return s;
}

// Passed by the layer to constructors the spec says are not constructible
// from script ("Illegal constructor"), e.g. AbortSignal.
const illegalConstructorKey = internalSymbol("illegalConstructorKey");

// inspect (01_console.js) calls obj[customInspect](inspect, options) when
// present, so classes with internal state can show it.
const customInspect = Symbol.for("kumo.customInspect");

// The prototypes of every interface, so structuredClone can tell platform
// objects (not cloneable unless registered) from ordinary ones.
const platformPrototypes = new Set();

// https://webidl.spec.whatwg.org/#dfn-create-interface-prototype-object:
// the prototype carries @@toStringTag as a non-writable, non-enumerable
// data property.
function configureInterface(ctor, name = ctor.name) {
  platformPrototypes.add(ctor.prototype);
  ObjectDefineProperty(ctor.prototype, SymbolToStringTag, {
    value: name, writable: false, enumerable: false, configurable: true,
  });
}

function webidlBrandCheck(value, brand, name) {
  if (value === null || typeof value !== "object" || !(brand in value)) {
    throw new TypeError(`Illegal invocation: not a ${name}`);
  }
}

function illegalConstructor() {
  throw new TypeError("Illegal constructor");
}

function requiredArguments(length, required, prefix) {
  if (length < required) {
    const s = required === 1 ? "" : "s";
    throw new TypeError(`${prefix}: ${required} argument${s} required, but only ${length} present.`);
  }
}

// https://webidl.spec.whatwg.org/#es-DOMString
function toDOMString(v, prefix, context) {
  if (typeof v === "string") return v;
  if (typeof v === "symbol") {
    throw new TypeError(`${prefix}: ${context} is a symbol, which cannot be converted to a string.`);
  }
  return String(v);
}

// https://webidl.spec.whatwg.org/#es-USVString
function toUSVString(v, prefix, context) {
  const s = toDOMString(v, prefix, context);
  return s.isWellFormed() ? s : s.toWellFormed();
}

// https://webidl.spec.whatwg.org/#es-ByteString
function toByteString(v, prefix, context) {
  const s = toDOMString(v, prefix, context);
  // deno-lint-ignore no-control-regex
  if (/[^\x00-\xff]/.test(s)) {
    throw new TypeError(`${prefix}: ${context} is not a valid ByteString.`);
  }
  return s;
}

function toBoolean(v) {
  return !!v;
}

// https://webidl.spec.whatwg.org/#abstract-opdef-converttoint for the
// integer types; opts: enforceRange, clamp.
function toInteger(v, bits, signed, prefix, context, opts) {
  const upper = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  const lower = signed ? -(2 ** (bits - 1)) : 0;
  let x = typeof v === "number" ? v : Number(v);
  if (x === 0) x = 0; // -0 → +0
  if (opts !== undefined && opts.enforceRange) {
    if (!NumberIsFinite(x)) {
      throw new TypeError(`${prefix}: ${context} is not a finite number.`);
    }
    x = Math.trunc(x);
    if (x < lower || x > upper) {
      throw new TypeError(`${prefix}: ${context} is outside the accepted range of ${lower} to ${upper}, inclusive.`);
    }
    return x;
  }
  if (!NumberIsNaN(x) && opts !== undefined && opts.clamp) {
    x = MathMin(MathMax(x, lower), upper);
    const f = Math.floor(x);
    // round half to even
    x = x - f === 0.5 ? (f % 2 === 0 ? f : f + 1) : Math.round(x);
    return x === 0 ? 0 : x;
  }
  if (!NumberIsFinite(x)) return 0;
  x = Math.trunc(x);
  if (x >= lower && x <= upper) return x === 0 ? 0 : x;
  const mod = 2 ** bits;
  x = ((x % mod) + mod) % mod;
  if (signed && x > upper) x -= mod;
  return x;
}

function toUnsignedLong(v, prefix, context, opts) {
  return toInteger(v, 32, false, prefix, context, opts);
}
function toLong(v, prefix, context, opts) {
  return toInteger(v, 32, true, prefix, context, opts);
}
function toUnsignedLongLong(v, prefix, context, opts) {
  return toInteger(v, 64, false, prefix, context, opts);
}
function toUnsignedShort(v, prefix, context, opts) {
  return toInteger(v, 16, false, prefix, context, opts);
}

// https://webidl.spec.whatwg.org/#es-double
function toDouble(v, prefix, context) {
  const x = Number(v);
  if (!NumberIsFinite(x)) {
    throw new TypeError(`${prefix}: ${context} is not a finite floating-point value.`);
  }
  return x;
}

function toUnrestrictedDouble(v) {
  return Number(v);
}

// Dictionaries: undefined and null are the empty dictionary; anything else
// must be an object.
function toDictionary(v, prefix, context) {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" && typeof v !== "function") {
    throw new TypeError(`${prefix}: ${context} can not be converted to a dictionary.`);
  }
  return v;
}

function toCallback(v, prefix, context) {
  if (typeof v !== "function") {
    throw new TypeError(`${prefix}: ${context} is not a function.`);
  }
  return v;
}

// https://webidl.spec.whatwg.org/#idl-sequence from an iterable.
function toSequence(v, prefix, context, convert) {
  if (v === null || (typeof v !== "object" && typeof v !== "function") || typeof v[SymbolIterator] !== "function") {
    throw new TypeError(`${prefix}: ${context} can not be converted to a sequence.`);
  }
  const out = [];
  for (const e of v) out.push(convert === undefined ? e : convert(e));
  return out;
}

function enumValue(v, values, prefix, context, enumName) {
  const s = toDOMString(v, prefix, context);
  if (!values.includes(s)) {
    throw new TypeError(`${prefix}: The provided value '${s}' is not a valid enum value of type ${enumName}.`);
  }
  return s;
}

// The instanceof filter spares the brand check's exception for the many
// values that are not buffers (exceptions are slow here).
function isArrayBuffer(v) {
  if (!(v instanceof ArrayBufferCtor)) return false;
  try {
    arrayBufferByteLength.call(v);
    return true;
  } catch {
    return false;
  }
}

function isTypedArray(v) {
  return typedArrayToStringTag.call(v) !== undefined;
}

// BufferSource: an ArrayBuffer or an ArrayBufferView.
function isBufferSource(v) {
  return ArrayBufferIsView(v) || isArrayBuffer(v);
}

// bufferSourceView returns a Uint8Array over the bytes of a BufferSource
// (no copy), or undefined when v is not one.
function bufferSourceView(v) {
  if (ArrayBufferIsView(v)) {
    if (v instanceof Uint8Array) return v;
    return new Uint8Array(viewBuffer(v), v.byteOffset, v.byteLength);
  }
  if (isArrayBuffer(v)) return new Uint8Array(v);
  return undefined;
}

// https://webidl.spec.whatwg.org/#dfn-get-buffer-source-copy
function copyBufferSource(v) {
  const view = bufferSourceView(v);
  return view === undefined ? undefined : view.slice();
}

// The buffer of a view, read through the intrinsic getters so a user
// getter cannot lie.
function viewBuffer(v) {
  return isTypedArray(v) ? typedArrayBuffer.call(v) : dataViewBuffer.call(v);
}

function concatBytes(chunks, total) {
  if (chunks.length === 1) return chunks[0];
  if (total === undefined) {
    total = 0;
    for (let i = 0; i < chunks.length; i++) total += chunks[i].byteLength;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (let i = 0; i < chunks.length; i++) {
    out.set(chunks[i], off);
    off += chunks[i].byteLength;
  }
  return out;
}

// UTF-8 for layers that need it without the TextEncoder ceremony (and
// without loading 05_encoding.js, which is lazy). utf8Decode drops a BOM
// and replaces invalid bytes.
function utf8Encode(s) {
  return ops.op_encoding_encode(s);
}

function utf8Decode(bytes) {
  return ops.op_encoding_decode("utf-8", bytes, false, true, false);
}

// A promise with its resolving functions, the spec's "a new promise".
function newPromiseCapability() {
  let resolve, reject;
  const promise = new PromiseCtor((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

// https://webidl.spec.whatwg.org/#dfn-perform-steps-once-promise-is-settled
function uponPromise(promise, onFulfilled, onRejected) {
  ReflectApply(PromisePrototypeThen, promise, [onFulfilled, onRejected]);
}

// https://webidl.spec.whatwg.org/#mark-a-promise-as-handled
function markHandled(promise) {
  ReflectApply(PromisePrototypeThen, promise, [undefined, () => {}]);
}

// Platform objects structuredClone (07_structured_clone.js) copies, as
// [test, clone] pairs their layers register (08_blob.js). The list lives
// here so that loading such a layer does not load structuredClone.
const cloneables = [];

function registerCloneable(test, clone) {
  cloneables.push([test, clone]);
}

// Binding layers (KV, buckets, queues, services) export how to make the
// env object of their kind as k.<kind>Binding(name, descriptor);
// 90_dispatch.js's setEnv looks them up, which loads a lazy layer.
function bindingFactory(kind) {
  const make = k[kind + "Binding"];
  return typeof make === "function" ? make : undefined;
}

// Lazy layers (webapi.go). In a lazy layer's place the bootstrap calls
// lazyLayer(file, names) with the names the layer exports. Until the layer
// loads, those names resolve through k's prototype, a Proxy whose get trap
// loads it: op_layer_load evaluates the layer's bytecode and returns its
// function, called here with (ops, k) as the bootstrap calls the others,
// and its exports are merged into k. From then on they are own properties
// of k and the trap is not reached again. Any other name k lacks still
// reads as undefined.
const lazyFiles = ObjectCreate(null); // export name → layer file, until it loads
const lazyNames = ObjectCreate(null); // layer file → its export names, until it loads
const loadingLayers = ObjectCreate(null); // layer files being loaded

function lazyLayer(file, names) {
  lazyNames[file] = names;
  for (let i = 0; i < names.length; i++) lazyFiles[names[i]] = file;
}

function loadLayer(file) {
  const names = lazyNames[file];
  // Loaded, or loading: a layer reading, while it loads, the export of a
  // layer that is loading finds it missing, as an eager layer would.
  if (names === undefined || loadingLayers[file] === true) return;
  loadingLayers[file] = true;
  let exports;
  try {
    exports = ops.op_layer_load(file)(ops, k);
  } finally {
    delete loadingLayers[file];
  }
  delete lazyNames[file];
  for (let i = 0; i < names.length; i++) delete lazyFiles[names[i]];
  ObjectAssign(k, exports);
  // 99_bootstrap.js turns the layer's globals into plain values.
  if (k.layerLoaded !== undefined) k.layerLoaded(exports);
}

ObjectSetPrototypeOf(k, new ProxyCtor(ObjectCreate(null), {
  get(target, name) {
    const file = lazyFiles[name];
    if (file === undefined) return undefined;
    loadLayer(file);
    return ObjectHasOwn(k, name) ? k[name] : undefined;
  },
}));

// ifLoaded(name) is k[name] without loading a lazy layer: undefined until
// the layer that exports name has loaded. For checks such as "is v a
// Blob?": no value of a class whose layer never loaded can exist.
function ifLoaded(name) {
  return lazyFiles[name] === undefined ? k[name] : undefined;
}

// unloaded(name) reports whether name is the export of a lazy layer that
// has not loaded yet.
function unloaded(name) {
  return lazyFiles[name] !== undefined;
}

return {
  ObjectFreeze,
  ObjectDefineProperty,
  ObjectCreate,
  ObjectGetPrototypeOf,
  ArrayBufferIsView,
  ArrayIsArray,
  SymbolIterator,
  SymbolAsyncIterator,
  SymbolToStringTag,
  PromiseResolve,
  PromiseReject,
  PromisePrototypeThen,
  ReflectApply,
  TypedArrayPrototype,
  internalSymbols,
  internalSymbol,
  illegalConstructorKey,
  customInspect,
  platformPrototypes,
  configureInterface,
  webidlBrandCheck,
  illegalConstructor,
  requiredArguments,
  toDOMString,
  toUSVString,
  toByteString,
  toBoolean,
  toInteger,
  toUnsignedLong,
  toLong,
  toUnsignedLongLong,
  toUnsignedShort,
  toDouble,
  toUnrestrictedDouble,
  toDictionary,
  toCallback,
  toSequence,
  enumValue,
  isArrayBuffer,
  isTypedArray,
  isBufferSource,
  bufferSourceView,
  copyBufferSource,
  viewBuffer,
  concatBytes,
  utf8Encode,
  utf8Decode,
  newPromiseCapability,
  uponPromise,
  markHandled,
  cloneables,
  registerCloneable,
  bindingFactory,
  lazyLayer,
  ifLoaded,
  unloaded,
};
