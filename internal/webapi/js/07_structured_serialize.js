// Structured serialisation: https://html.spec.whatwg.org/multipage/structured-data.html#structuredserialize
// and #structureddeserialize, for values that cross from one VM to another
// (service binding RPC). The same types as structuredClone
// (07_structured_clone.js), written as text instead of copied live:
// serialize(value) returns a string, deserialize(string) the new value.
// Functions, symbols, promises, weak collections and platform objects
// throw a DataCloneError, as structuredClone does.
//
// The text is JSON. Strings, booleans, null and finite numbers other than
// -0 stand for themselves; every other value is an array whose first
// element is a tag:
//   ["u"]                         undefined
//   ["n", "NaN" | "Infinity" | "-Infinity" | "-0"]
//   ["i", "123"]                  BigInt
//   ["r", id]                     an object written before (shared or cyclic)
//   ["o", key, value, ...]        ordinary object: own enumerable string keys
//   ["a", length, key, value, ...] array
//   ["D", time]                   Date
//   ["R", source, flags]          RegExp
//   ["M", key, value, ...]        Map
//   ["S", value, ...]             Set
//   ["B", base64, maxByteLength?] ArrayBuffer (resizable when maxByteLength is there)
//   ["V", type, buffer, byteOffset, length] typed array; for "DataView",
//                                 length is its byteLength
//   ["E", name, message, stack, cause?] Error (cause only when it has one)
//   ["X", name, message]          DOMException
//   ["b", bool] ["N", number] ["s", string] ["I", "123"] primitive wrappers
// Objects are numbered in the order they are first written (the ids "r"
// refers to), so shared references and cycles survive the trip.
const { isArrayBuffer, isDOMException, DOMException, ObjectGetPrototypeOf, ReflectApply, TypedArrayPrototype, SymbolToStringTag } = k;
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
const arrayBufferResizable = getter(ArrayBuffer.prototype, "resizable");
const arrayBufferMaxByteLength = getter(ArrayBuffer.prototype, "maxByteLength");
const arrayBufferDetached = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "detached")?.get;
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
const bytesToBase64 = Uint8Array.prototype.toBase64;
const bytesFromBase64 = Uint8Array.fromBase64;
const ObjectPrototype = Object.prototype;
const ObjectKeys = Object.keys;
const ObjectDefineProperty = Object.defineProperty;
const ObjectHasOwn = Object.hasOwn;
const ArrayIsArray = Array.isArray;
const JSONStringify = JSON.stringify;
const JSONParse = JSON.parse;
const NumberIsFinite = Number.isFinite;
const PromiseCtor = Promise;
const typedArrayCtors = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
};
// https://html.spec.whatwg.org/multipage/structured-data.html#structuredserializeinternal
// step 18: the error prototypes kept by name.
const errorCtors = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };

const UNDEFINED = ["u"];

// The checks structured cloning uses, shared so both agree on what can
// cross (07_structured_clone.js).
const { has, dataCloneError, describe, isPlatformObject } = k.cloneChecks;

// serialize returns value as structured-serialisation text.
function serialize(value) {
  return JSONStringify(write(value, new Map()));
}

function writeNumber(n) {
  if (NumberIsFinite(n)) return n === 0 && 1 / n < 0 ? ["n", "-0"] : n;
  return ["n", String(n)];
}

function write(v, memory) {
  switch (typeof v) {
    case "string":
    case "boolean":
      return v;
    case "number":
      return writeNumber(v);
    case "undefined":
      return UNDEFINED;
    case "bigint":
      return ["i", String(v)];
    case "symbol":
    case "function":
      throw dataCloneError(describe(v));
  }
  if (v === null) return null;
  const seen = memory.get(v);
  if (seen !== undefined) return ["r", seen];
  memory.set(v, memory.size);

  // As in structuredClone: a cheap instanceof filter before each brand
  // check, since a failing brand check throws and exceptions are slow.
  if (v instanceof Boolean && has(booleanValueOf, v)) return ["b", booleanValueOf.call(v)];
  if (v instanceof Number && has(numberValueOf, v)) return ["N", writeNumber(numberValueOf.call(v))];
  if (v instanceof BigInt && has(bigintValueOf, v)) return ["I", String(bigintValueOf.call(v))];
  if (v instanceof String && has(stringValueOf, v)) return ["s", stringValueOf.call(v)];
  if (v instanceof Symbol && has(symbolValueOf, v)) throw dataCloneError("Symbol object");
  if (v instanceof Date && has(dateGetTime, v)) return ["D", writeNumber(dateGetTime.call(v))];
  if (v instanceof RegExp && v !== RegExp.prototype && has(regExpSource, v)) {
    return ["R", regExpSource.call(v), regExpFlags.call(v)];
  }
  if (v instanceof ArrayBuffer && isArrayBuffer(v)) return writeArrayBuffer(v);
  const tag = typedArrayTag.call(v);
  if (tag !== undefined) {
    // The view's id is taken; its buffer gets the next one.
    const buffer = write(typedArrayBuffer.call(v), memory);
    return ["V", tag, buffer, typedArrayByteOffset.call(v), typedArrayLength.call(v)];
  }
  if (v instanceof DataView && has(dataViewByteLength, v)) {
    const buffer = write(dataViewBuffer.call(v), memory);
    return ["V", "DataView", buffer, dataViewByteOffset.call(v), dataViewByteLength.call(v)];
  }
  if (v instanceof Map && has(mapSize, v)) {
    const out = ["M"];
    const entries = [...ReflectApply(mapEntries, v, [])];
    for (const [key, value] of entries) out.push(write(key, memory), write(value, memory));
    return out;
  }
  if (v instanceof Set && has(setSize, v)) {
    const out = ["S"];
    const values = [...ReflectApply(setValues, v, [])];
    for (const value of values) out.push(write(value, memory));
    return out;
  }
  if (isDOMException(v)) return ["X", v.name, v.message];
  if (v instanceof Error || ObjectPrototype.toString.call(v) === "[object Error]") return writeError(v, memory);
  if (ArrayIsArray(v)) return writeProperties(v, ["a", v.length], memory);
  const proto = ObjectGetPrototypeOf(v);
  if (proto !== ObjectPrototype && proto !== null) {
    if (isPlatformObject(proto)) throw dataCloneError(describe(v));
    if (v instanceof PromiseCtor || v instanceof WeakMap && has(weakMapHas, v, {}) || v instanceof WeakSet && has(weakSetHas, v, {}) ||
        v instanceof WeakRef && has(weakRefDeref, v)) {
      throw dataCloneError(describe(v));
    }
  }
  return writeProperties(v, ["o"], memory);
}

function writeArrayBuffer(b) {
  if (arrayBufferDetached !== undefined && arrayBufferDetached.call(b)) {
    throw new DOMException("An ArrayBuffer is detached and could not be cloned.", "DataCloneError");
  }
  const out = ["B", ReflectApply(bytesToBase64, new Uint8Array(b), [])];
  if (arrayBufferResizable !== undefined && arrayBufferResizable.call(b)) out.push(arrayBufferMaxByteLength.call(b));
  return out;
}

// Own enumerable string keys, read with [[Get]] (so getters run).
function writeProperties(from, out, memory) {
  const keys = ObjectKeys(from);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (!ObjectHasOwn(from, key)) continue;
    out.push(key, write(from[key], memory));
  }
  return out;
}

function writeError(v, memory) {
  let name = "Error";
  try {
    const n = v.name;
    if (typeof n === "string" && ObjectHasOwn(errorCtors, n)) name = n;
  } catch { /* getter threw: keep Error */ }
  const md = Object.getOwnPropertyDescriptor(v, "message");
  const message = md !== undefined && "value" in md ? String(md.value) : UNDEFINED;
  const sd = Object.getOwnPropertyDescriptor(v, "stack");
  const stack = sd !== undefined && typeof sd.value === "string" ? sd.value : UNDEFINED;
  const out = ["E", name, message, stack];
  const cd = Object.getOwnPropertyDescriptor(v, "cause");
  if (cd !== undefined && "value" in cd) out.push(write(cd.value, memory));
  return out;
}

function malformed() {
  return new DOMException("The serialized value is malformed and could not be deserialized.", "DataCloneError");
}

// deserialize returns a new value from serialize's text.
function deserialize(text) {
  let tree;
  try {
    tree = JSONParse(text);
  } catch {
    throw malformed();
  }
  return read(tree, []);
}

function readNumber(n) {
  if (typeof n === "number") return n;
  if (ArrayIsArray(n) && n[0] === "n") {
    switch (n[1]) {
      case "NaN": return NaN;
      case "Infinity": return Infinity;
      case "-Infinity": return -Infinity;
      case "-0": return -0;
    }
  }
  throw malformed();
}

// read rebuilds one value; objects is every object made so far, by id.
function read(n, objects) {
  if (n === null || typeof n !== "object") return n;
  if (!ArrayIsArray(n)) throw malformed();
  const tag = n[0];
  switch (tag) {
    case "u": return undefined;
    case "n": return readNumber(n);
    case "i": return BigInt(n[1]);
    case "r": {
      const id = n[1];
      if (typeof id !== "number" || id < 0 || id >= objects.length) throw malformed();
      return objects[id];
    }
  }
  // An object: take its id before reading what it holds.
  const id = objects.length;
  objects.push(undefined);
  const made = (v) => (objects[id] = v);
  switch (tag) {
    case "o": {
      const out = made({});
      readProperties(n, 1, out, objects);
      return out;
    }
    case "a": {
      const out = made(new Array(n[1]));
      readProperties(n, 2, out, objects);
      return out;
    }
    case "D": return made(new Date(readNumber(n[1])));
    case "R": return made(new RegExp(n[1], n[2]));
    case "M": {
      const out = made(new Map());
      for (let i = 1; i < n.length; i += 2) out.set(read(n[i], objects), read(n[i + 1], objects));
      return out;
    }
    case "S": {
      const out = made(new Set());
      for (let i = 1; i < n.length; i++) out.add(read(n[i], objects));
      return out;
    }
    case "B": {
      const bytes = ReflectApply(bytesFromBase64, Uint8Array, [n[1]]);
      if (n.length > 2) {
        const b = new ArrayBuffer(bytes.byteLength, { maxByteLength: n[2] });
        new Uint8Array(b).set(bytes);
        return made(b);
      }
      return made(bytes.buffer);
    }
    case "V": {
      const buffer = read(n[2], objects);
      if (!isArrayBuffer(buffer)) throw malformed();
      if (n[1] === "DataView") return made(new DataView(buffer, n[3], n[4]));
      const ctor = ObjectHasOwn(typedArrayCtors, n[1]) ? typedArrayCtors[n[1]] : undefined;
      if (ctor === undefined) throw malformed();
      return made(new ctor(buffer, n[3], n[4]));
    }
    case "E": {
      const ctor = ObjectHasOwn(errorCtors, n[1]) ? errorCtors[n[1]] : Error;
      const out = made(new ctor());
      delete out.stack;
      const message = read(n[2], objects);
      if (message !== undefined) {
        ObjectDefineProperty(out, "message", { value: String(message), writable: true, enumerable: false, configurable: true });
      }
      const stack = read(n[3], objects);
      if (stack !== undefined) {
        ObjectDefineProperty(out, "stack", { value: String(stack), writable: true, enumerable: false, configurable: true });
      }
      if (n.length > 4) {
        ObjectDefineProperty(out, "cause", { value: read(n[4], objects), writable: true, enumerable: false, configurable: true });
      }
      return out;
    }
    case "X": return made(new DOMException(n[2], n[1]));
    case "b": return made(Object(!!n[1]));
    case "N": return made(Object(readNumber(n[1])));
    case "s": return made(Object(String(n[1])));
    case "I": return made(Object(BigInt(n[1])));
  }
  throw malformed();
}

function readProperties(n, from, out, objects) {
  for (let i = from; i < n.length; i += 2) {
    const key = n[i];
    if (typeof key !== "string") throw malformed();
    const value = read(n[i + 1], objects);
    if (key === "__proto__") {
      ObjectDefineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
    } else {
      out[key] = value;
    }
  }
}

return { serialize, deserialize };
