// structuredClone: https://html.spec.whatwg.org/multipage/structured-data.html#dom-structuredclone
// StructuredSerializeInternal and StructuredDeserialize fused into one walk
// that builds the copy directly; the memory map keeps cycles and shared
// references. Transferred ArrayBuffers are copied, then detached.
const {
  requiredArguments,
  toDictionary,
  toSequence,
  platformPrototypes,
  isArrayBuffer,
  isDOMException,
  DOMException,
  ObjectGetPrototypeOf,
  ReflectApply,
  TypedArrayPrototype,
  SymbolToStringTag,
} = k;
// Captured before user code can replace them.
const { Boolean, Number, BigInt, String, Symbol, Date, RegExp, ArrayBuffer, DataView, Map, Set, WeakMap, WeakSet, WeakRef } = globalThis;

const getter = (proto, name) => Object.getOwnPropertyDescriptor(proto, name).get;
const typedArrayTag = getter(TypedArrayPrototype, SymbolToStringTag);
const typedArrayByteOffset = getter(TypedArrayPrototype, "byteOffset");
const typedArrayLength = getter(TypedArrayPrototype, "length");
const typedArrayBuffer = getter(TypedArrayPrototype, "buffer");
const dataViewByteOffset = getter(DataView.prototype, "byteOffset");
const dataViewByteLength = getter(DataView.prototype, "byteLength");
const dataViewBuffer = getter(DataView.prototype, "buffer");
const arrayBufferByteLength = getter(ArrayBuffer.prototype, "byteLength");
const arrayBufferResizable = getter(ArrayBuffer.prototype, "resizable");
const arrayBufferMaxByteLength = getter(ArrayBuffer.prototype, "maxByteLength");
const arrayBufferDetached = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "detached")?.get;
const arrayBufferSlice = ArrayBuffer.prototype.slice;
const arrayBufferTransfer = ArrayBuffer.prototype.transfer;
const sharedArrayBufferByteLength = typeof SharedArrayBuffer === "function"
  ? getter(SharedArrayBuffer.prototype, "byteLength")
  : undefined;
const mapSize = getter(Map.prototype, "size");
const mapEntries = Map.prototype.entries;
const setSize = getter(Set.prototype, "size");
const setValues = Set.prototype.values;
const dateGetTime = Date.prototype.getTime;
const regExpSource = getter(RegExp.prototype, "source");
const regExpFlags = getter(RegExp.prototype, "flags");
const numberValueOf = Number.prototype.valueOf;
const stringValueOf = String.prototype.valueOf;
const booleanValueOf = Boolean.prototype.valueOf;
const bigintValueOf = BigInt.prototype.valueOf;
const symbolValueOf = Symbol.prototype.valueOf;
const weakMapHas = WeakMap.prototype.has;
const weakSetHas = WeakSet.prototype.has;
const weakRefDeref = WeakRef.prototype.deref;
const ObjectPrototype = Object.prototype;
const ArrayPrototype = Array.prototype;
const ObjectKeys = Object.keys;
const ObjectDefineProperty = Object.defineProperty;
const ArrayIsArray = Array.isArray;
const PromiseCtor = Promise;
const typedArrayCtors = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
};
// https://html.spec.whatwg.org/multipage/structured-data.html#structuredserializeinternal
// step 18: the error prototypes kept by name.
const errorCtors = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };

// Platform classes made serializable by other layers (Blob, File):
// [test(value) → boolean, clone(value) → copy] (00_infra.js).
const { cloneables } = k;

function has(fn, v, ...args) {
  try {
    ReflectApply(fn, v, args);
    return true;
  } catch {
    return false;
  }
}

function dataCloneError(what) {
  return new DOMException(`${what} could not be cloned.`, "DataCloneError");
}

function describe(v) {
  if (typeof v === "function") return v.name ? `function ${v.name}` : "function";
  if (typeof v === "symbol") return String(v);
  try {
    const tag = v[SymbolToStringTag];
    if (typeof tag === "string") return `#<${tag}>`;
  } catch { /* getter threw */ }
  return "#<Object>";
}

// https://html.spec.whatwg.org/multipage/structured-data.html#structured-cloning
function structuredClone(value, options = undefined) {
  const prefix = "Failed to execute 'structuredClone'";
  requiredArguments(arguments.length, 1, prefix);
  const o = toDictionary(options, prefix, "Argument 2");
  const transfer = o.transfer === undefined ? [] : toSequence(o.transfer, prefix, "transfer");
  return cloneWithTransfer(value, transfer);
}

// https://html.spec.whatwg.org/multipage/structured-data.html#structuredserializewithtransfer
function cloneWithTransfer(value, transfer) {
  const memory = new Map();
  for (const t of transfer) {
    if (!isArrayBuffer(t)) {
      throw dataCloneError(`${describe(t)} is not transferable and`);
    }
    if (memory.has(t)) throw new DOMException("ArrayBuffer at index is a duplicate in transfer", "DataCloneError");
    if (arrayBufferDetached !== undefined && arrayBufferDetached.call(t)) {
      throw new DOMException("An ArrayBuffer is detached and could not be cloned.", "DataCloneError");
    }
    memory.set(t, cloneArrayBuffer(t));
  }
  const out = cloneValue(value, memory);
  for (const t of transfer) ReflectApply(arrayBufferTransfer, t, []);
  return out;
}

// structuredCloneInternal clones without options, for the platform.
function structuredCloneInternal(value) {
  return cloneValue(value, new Map());
}

function cloneArrayBuffer(b) {
  const len = arrayBufferByteLength.call(b);
  if (arrayBufferResizable !== undefined && arrayBufferResizable.call(b)) {
    const copy = new ArrayBuffer(len, { maxByteLength: arrayBufferMaxByteLength.call(b) });
    new Uint8Array(copy).set(new Uint8Array(b));
    return copy;
  }
  return ReflectApply(arrayBufferSlice, b, [0, len]);
}

function cloneValue(v, memory) {
  const t = typeof v;
  if (t !== "object" && t !== "function") {
    if (t === "symbol") throw dataCloneError(describe(v));
    return v;
  }
  if (v === null) return v;
  const seen = memory.get(v);
  if (seen !== undefined) return seen;
  if (t === "function") throw dataCloneError(describe(v));

  // Each brand check runs only after a cheap instanceof filter: a failing
  // brand check throws, and exceptions are slow here. (An exotic object
  // whose prototype was swapped is cloned as an ordinary object.)
  if (v instanceof Boolean && has(booleanValueOf, v)) return remember(memory, v, Object(booleanValueOf.call(v)));
  if (v instanceof Number && has(numberValueOf, v)) return remember(memory, v, Object(numberValueOf.call(v)));
  if (v instanceof BigInt && has(bigintValueOf, v)) return remember(memory, v, Object(bigintValueOf.call(v)));
  if (v instanceof String && has(stringValueOf, v)) return remember(memory, v, Object(stringValueOf.call(v)));
  if (v instanceof Symbol && has(symbolValueOf, v)) throw dataCloneError("Symbol object");

  if (v instanceof Date && has(dateGetTime, v)) return remember(memory, v, new Date(dateGetTime.call(v)));
  if (v instanceof RegExp && v !== RegExp.prototype && has(regExpSource, v)) {
    return remember(memory, v, new RegExp(regExpSource.call(v), regExpFlags.call(v)));
  }
  if (v instanceof ArrayBuffer && isArrayBuffer(v)) {
    if (arrayBufferDetached !== undefined && arrayBufferDetached.call(v)) {
      throw new DOMException("An ArrayBuffer is detached and could not be cloned.", "DataCloneError");
    }
    return remember(memory, v, cloneArrayBuffer(v));
  }
  if (sharedArrayBufferByteLength !== undefined && v instanceof SharedArrayBuffer && has(sharedArrayBufferByteLength, v)) {
    return remember(memory, v, v); // shared memory stays shared
  }
  const tag = typedArrayTag.call(v);
  if (tag !== undefined) {
    const buffer = cloneValue(typedArrayBuffer.call(v), memory);
    const copy = new typedArrayCtors[tag](buffer, typedArrayByteOffset.call(v), typedArrayLength.call(v));
    return remember(memory, v, copy);
  }
  if (v instanceof DataView && has(dataViewByteLength, v)) {
    const buffer = cloneValue(dataViewBuffer.call(v), memory);
    return remember(memory, v, new DataView(buffer, dataViewByteOffset.call(v), dataViewByteLength.call(v)));
  }
  if (v instanceof Map && has(mapSize, v)) {
    const out = remember(memory, v, new Map());
    const entries = [...ReflectApply(mapEntries, v, [])];
    for (const [key, value] of entries) out.set(cloneValue(key, memory), cloneValue(value, memory));
    return out;
  }
  if (v instanceof Set && has(setSize, v)) {
    const out = remember(memory, v, new Set());
    const values = [...ReflectApply(setValues, v, [])];
    for (const value of values) out.add(cloneValue(value, memory));
    return out;
  }
  if (isDOMException(v)) {
    return remember(memory, v, new DOMException(v.message, v.name));
  }
  if (v instanceof Error || Object.prototype.toString.call(v) === "[object Error]") {
    return cloneError(v, memory);
  }
  for (let i = 0; i < cloneables.length; i++) {
    if (cloneables[i][0](v)) return remember(memory, v, cloneables[i][1](v));
  }
  if (ArrayIsArray(v)) {
    const out = remember(memory, v, new Array(v.length));
    copyProperties(v, out, memory);
    return out;
  }
  const proto = ObjectGetPrototypeOf(v);
  if (proto !== ObjectPrototype && proto !== null) {
    if (isPlatformObject(proto)) throw dataCloneError(describe(v));
    if (v instanceof PromiseCtor || v instanceof WeakMap && has(weakMapHas, v, {}) || v instanceof WeakSet && has(weakSetHas, v, {}) ||
        v instanceof WeakRef && has(weakRefDeref, v)) {
      throw dataCloneError(describe(v));
    }
  }
  const out = remember(memory, v, {});
  copyProperties(v, out, memory);
  return out;
}

function isPlatformObject(proto) {
  for (let p = proto; p !== null && p !== ObjectPrototype; p = ObjectGetPrototypeOf(p)) {
    if (platformPrototypes.has(p)) return true;
  }
  return false;
}

function remember(memory, v, copy) {
  memory.set(v, copy);
  return copy;
}

// Own enumerable string keys, read with [[Get]] (so getters run), written
// as data properties.
function copyProperties(from, to, memory) {
  const keys = ObjectKeys(from);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (!Object.prototype.hasOwnProperty.call(from, key)) continue;
    const value = cloneValue(from[key], memory);
    if (key === "__proto__") {
      ObjectDefineProperty(to, key, { value, writable: true, enumerable: true, configurable: true });
    } else {
      to[key] = value;
    }
  }
}

function cloneError(v, memory) {
  let name = "Error";
  try {
    const n = v.name;
    if (typeof n === "string" && Object.prototype.hasOwnProperty.call(errorCtors, n)) name = n;
  } catch { /* getter threw: keep Error */ }
  const out = remember(memory, v, new errorCtors[name]());
  delete out.stack;
  const md = Object.getOwnPropertyDescriptor(v, "message");
  if (md !== undefined && "value" in md) {
    ObjectDefineProperty(out, "message", { value: String(md.value), writable: true, enumerable: false, configurable: true });
  }
  const sd = Object.getOwnPropertyDescriptor(v, "stack");
  if (sd !== undefined && typeof sd.value === "string") {
    ObjectDefineProperty(out, "stack", { value: sd.value, writable: true, enumerable: false, configurable: true });
  }
  const cd = Object.getOwnPropertyDescriptor(v, "cause");
  if (cd !== undefined && "value" in cd) {
    ObjectDefineProperty(out, "cause", { value: cloneValue(cd.value, memory), writable: true, enumerable: false, configurable: true });
  }
  return out;
}

return { structuredClone, structuredCloneInternal, cloneChecks: { has, dataCloneError, describe, isPlatformObject } };
