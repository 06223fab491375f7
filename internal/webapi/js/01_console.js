// console: https://console.spec.whatwg.org/
// Every console call becomes exactly one op_log(level, text) line. Values
// are formatted by inspect, which never runs user getters, stops at a depth
// and an output budget, and never throws.
const {
  internalSymbols,
  customInspect,
  ArrayIsArray,
  ObjectGetPrototypeOf,
  TypedArrayPrototype,
  SymbolToStringTag,
} = k;

const MAX_OUTPUT = 64 * 1024; // characters per console line
const MAX_STRING = 10000; // characters of a nested string
const MAX_ITEMS = 100; // array, map and set entries shown
const MAX_BYTES = 50; // ArrayBuffer bytes shown
const LINE_WIDTH = 72;
const DEFAULT_DEPTH = 4;
const nodeCustomInspect = Symbol.for("nodejs.util.inspect.custom");

// Intrinsics, used as brand checks that a Proxy or a user getter cannot
// fake.
const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const ownKeys = Reflect.ownKeys;
const getter = (proto, name) => getOwnPropertyDescriptor(proto, name).get;
const mapSize = getter(Map.prototype, "size");
const setSize = getter(Set.prototype, "size");
const mapEntries = Map.prototype.entries;
const setValues = Set.prototype.values;
const typedArrayTag = getter(TypedArrayPrototype, SymbolToStringTag);
const typedArrayLength = getter(TypedArrayPrototype, "length");
const arrayBufferByteLength = getter(ArrayBuffer.prototype, "byteLength");
const sharedArrayBufferByteLength = typeof SharedArrayBuffer === "function"
  ? getter(SharedArrayBuffer.prototype, "byteLength")
  : undefined;
const dataViewByteLength = getter(DataView.prototype, "byteLength");
const dataViewByteOffset = getter(DataView.prototype, "byteOffset");
const dataViewBuffer = getter(DataView.prototype, "buffer");
const dateGetTime = Date.prototype.getTime;
const dateToISOString = Date.prototype.toISOString;
const regExpToString = RegExp.prototype.toString;
// The source getter throws for anything but a RegExp (flags is generic).
const regExpSource = getter(RegExp.prototype, "source");
const weakMapHas = WeakMap.prototype.has;
const weakSetHas = WeakSet.prototype.has;
const functionToString = Function.prototype.toString;
const errorToString = Error.prototype.toString;
const numberValueOf = Number.prototype.valueOf;
const stringValueOf = String.prototype.valueOf;
const booleanValueOf = Boolean.prototype.valueOf;
const symbolValueOf = Symbol.prototype.valueOf;
const bigintValueOf = BigInt.prototype.valueOf;
const PromiseCtor = Promise;
const ErrorCtor = Error;
const MapCtor = Map;
const SetCtor = Set;
const ArrayBufferCtor = ArrayBuffer;
const DataViewCtor = DataView;
const DateCtor = Date;
const RegExpCtor = RegExp;
const WeakMapCtor = WeakMap;
const WeakSetCtor = WeakSet;
const NumberCtor = Number;
const StringCtor = String;
const BooleanCtor = Boolean;
const SymbolCtor = Symbol;
const BigIntCtor = BigInt;
const JSONStringify = JSON.stringify;
const ObjectIs = Object.is;
const NumberParseInt = Number.parseInt;
const NumberParseFloat = Number.parseFloat;

function is(fn, v, ...args) {
  try {
    fn.call(v, ...args);
    return true;
  } catch {
    return false;
  }
}

// https://console.spec.whatwg.org/#formatter for %s etc. lives in
// formatArgs; inspect is the "implementation-specific" object formatting.
function inspect(value, options) {
  const ctx = {
    seen: [],
    depth: options !== undefined && options !== null && typeof options.depth === "number"
      ? options.depth
      : DEFAULT_DEPTH,
    budget: MAX_OUTPUT,
  };
  try {
    return formatValue(ctx, value, 0, false);
  } catch {
    return "[inspect failed]";
  }
}

function formatValue(ctx, v, level, nested) {
  switch (typeof v) {
    case "string":
      ctx.budget -= v.length;
      return nested ? quote(v) : v;
    case "number":
      return ObjectIs(v, -0) ? "-0" : "" + v;
    case "bigint":
      return `${v}n`;
    case "boolean":
    case "undefined":
      return "" + v;
    case "symbol":
      return String(v);
    case "function":
    case "object":
      if (v === null) return "null";
      break;
    default:
      return "[unknown]";
  }
  if (ctx.seen.includes(v)) return "[Circular]";
  if (ctx.budget <= 0) return "...";
  try {
    let custom = v[customInspect], node = false;
    if (typeof custom !== "function") {
      custom = v[nodeCustomInspect];
      node = typeof custom === "function";
      if (!node) custom = undefined;
    }
    if (custom !== undefined) {
      ctx.seen.push(v);
      try {
        const nested = (x) => formatValue(ctx, x, level + 1, true);
        const opts = { depth: ctx.depth - level };
        // Node's signature is (depth, options, inspect).
        const r = node ? custom.call(v, opts.depth, opts, nested) : custom.call(v, nested, opts);
        const s = typeof r === "string" ? r : formatValue(ctx, r, level, true);
        ctx.budget -= s.length;
        return s;
      } finally {
        ctx.seen.pop();
      }
    }
    ctx.seen.push(v);
    try {
      return formatObject(ctx, v, level);
    } finally {
      ctx.seen.pop();
    }
  } catch (e) {
    return "[object: inspection threw]";
  }
}

const identRe = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const escapeRe = /[\x00-\x1f\x7f\\'"`]/;

function quote(s) {
  let more = "";
  if (s.length > MAX_STRING) {
    more = `... ${s.length - MAX_STRING} more characters`;
    s = s.slice(0, MAX_STRING);
  }
  let q = '"';
  if (s.includes('"')) q = !s.includes("'") ? "'" : !s.includes("`") ? "`" : '"';
  if (!escapeRe.test(s)) return q + s + q + more;
  let out = q;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === q || ch === "\\") out += "\\" + ch;
    else if (c === 10) out += "\\n";
    else if (c === 9) out += "\\t";
    else if (c === 13) out += "\\r";
    else if (c === 8) out += "\\b";
    else if (c === 12) out += "\\f";
    else if (c === 11) out += "\\v";
    else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + q + more;
}

function formatKey(key) {
  if (typeof key === "symbol") return `[${String(key)}]`;
  return identRe.test(key) ? key : quote(key);
}

// The name shown before an object: its constructor's name, and its
// @@toStringTag when that differs.
function prefixOf(v, fallback) {
  const proto = ObjectGetPrototypeOf(v);
  if (proto === null) return "[Object: null prototype]";
  let name = fallback;
  const d = getOwnPropertyDescriptor(proto, "constructor");
  if (d !== undefined && typeof d.value === "function" && typeof d.value.name === "string" && d.value.name !== "") {
    name = d.value.name;
  }
  let tag;
  try {
    tag = v[SymbolToStringTag];
  } catch {
    tag = undefined;
  }
  if (typeof tag === "string" && tag !== "" && tag !== name) return `${name} [${tag}]`;
  return name;
}

// Own enumerable properties as "key: value" entries, skipping internal
// slots and the keys in skip (array indices already shown).
function propertyEntries(ctx, v, level, entries, skipIndices) {
  const keys = ownKeys(v);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (typeof key === "symbol" && internalSymbols.has(key)) continue;
    if (skipIndices && typeof key === "string" && isIndex(key)) continue;
    const d = getOwnPropertyDescriptor(v, key);
    if (d === undefined || !d.enumerable) continue;
    if (ctx.budget <= 0) {
      entries.push("...");
      break;
    }
    let s;
    if (d.get !== undefined || d.set !== undefined) {
      s = d.get !== undefined ? (d.set !== undefined ? "[Getter/Setter]" : "[Getter]") : "[Setter]";
    } else {
      s = formatValue(ctx, d.value, level + 1, true);
    }
    const e = `${formatKey(key)}: ${s}`;
    ctx.budget -= e.length + 2;
    entries.push(e);
  }
}

function isIndex(key) {
  const n = +key;
  return n >>> 0 === n && "" + n === key && n !== 4294967295;
}

function group(prefix, open, entries, close, level) {
  if (entries.length === 0) return prefix === "" ? open + close : `${prefix} ${open}${close}`;
  const head = prefix === "" ? open : `${prefix} ${open}`;
  let total = head.length + close.length;
  let multiline = false;
  for (let i = 0; i < entries.length; i++) {
    total += entries[i].length + 2;
    if (entries[i].includes("\n")) multiline = true;
  }
  if (!multiline && total + level * 2 <= LINE_WIDTH) {
    return `${head} ${entries.join(", ")} ${close}`;
  }
  let out = head;
  for (let i = 0; i < entries.length; i++) {
    out += "\n  " + entries[i].replaceAll("\n", "\n  ") + (i < entries.length - 1 ? "," : "");
  }
  return out + "\n" + close;
}

// Each brand check runs only after a cheap instanceof filter: a failing
// brand check throws, and exceptions are slow here. (An exotic object
// whose prototype was swapped shows as a plain object.)
function formatObject(ctx, v, level) {
  if (typeof v === "function") return formatFunction(ctx, v, level);
  if (ArrayIsArray(v)) return formatArray(ctx, v, level);
  let tag;
  if ((tag = typedArrayTag.call(v)) !== undefined) return formatTypedArray(ctx, v, level, tag);
  if (v instanceof ErrorCtor || isNativeError(v)) return formatError(ctx, v, level);
  if (v instanceof MapCtor && is(mapSize, v)) return formatMap(ctx, v, level);
  if (v instanceof SetCtor && is(setSize, v)) return formatSet(ctx, v, level);
  if (v instanceof ArrayBufferCtor && is(arrayBufferByteLength, v)) {
    return formatArrayBuffer(ctx, v, level, "ArrayBuffer", arrayBufferByteLength);
  }
  if (sharedArrayBufferByteLength !== undefined && v instanceof SharedArrayBuffer && is(sharedArrayBufferByteLength, v)) {
    return formatArrayBuffer(ctx, v, level, "SharedArrayBuffer", sharedArrayBufferByteLength);
  }
  if (v instanceof DataViewCtor && is(dataViewByteLength, v)) {
    if (level > ctx.depth) return "[DataView]";
    const entries = [
      `byteLength: ${dataViewByteLength.call(v)}`,
      `byteOffset: ${dataViewByteOffset.call(v)}`,
      `buffer: ${formatValue(ctx, dataViewBuffer.call(v), level + 1, true)}`,
    ];
    return group("DataView", "{", entries, "}", level);
  }
  if (v instanceof DateCtor && is(dateGetTime, v)) {
    const t = dateGetTime.call(v);
    return t !== t ? "Invalid Date" : dateToISOString.call(v);
  }
  if (v instanceof RegExpCtor && v !== RegExp.prototype && is(regExpSource, v)) return regExpToString.call(v);
  if (v instanceof PromiseCtor) return `${prefixOf(v, "Promise")} {}`;
  if (v instanceof WeakMapCtor && is(weakMapHas, v, {})) return "WeakMap { <items unknown> }";
  if (v instanceof WeakSetCtor && is(weakSetHas, v, {})) return "WeakSet { <items unknown> }";
  const boxed = formatBoxed(v);
  if (boxed !== undefined) return boxed;
  const prefix = prefixOf(v, "Object");
  const shown = prefix === "Object" ? "" : prefix;
  if (level > ctx.depth) return `[${prefix}]`;
  const entries = [];
  propertyEntries(ctx, v, level, entries, false);
  return group(shown, "{", entries, "}", level);
}

function isNativeError(v) {
  try {
    return Object.prototype.toString.call(v) === "[object Error]";
  } catch {
    return false;
  }
}

function formatBoxed(v) {
  if (v instanceof NumberCtor && is(numberValueOf, v)) {
    return `[Number: ${formatValue({ budget: 100 }, numberValueOf.call(v), 0, true)}]`;
  }
  if (v instanceof StringCtor && is(stringValueOf, v)) return `[String: ${quote(stringValueOf.call(v))}]`;
  if (v instanceof BooleanCtor && is(booleanValueOf, v)) return `[Boolean: ${booleanValueOf.call(v)}]`;
  if (v instanceof SymbolCtor && is(symbolValueOf, v)) return `[Symbol: ${String(symbolValueOf.call(v))}]`;
  if (v instanceof BigIntCtor && is(bigintValueOf, v)) return `[BigInt: ${bigintValueOf.call(v)}n]`;
  return undefined;
}

function formatFunction(ctx, fn, level) {
  let src = "";
  try {
    src = functionToString.call(fn);
  } catch {
    // a revoked proxy
  }
  let name = "";
  const d = getOwnPropertyDescriptor(fn, "name");
  if (d !== undefined && typeof d.value === "string") name = d.value;
  let base;
  if (src.startsWith("class")) {
    base = name === "" ? "[class (anonymous)" : `[class ${name}`;
    const parent = ObjectGetPrototypeOf(fn);
    if (parent !== null && parent !== Function.prototype) {
      const pd = getOwnPropertyDescriptor(parent, "name");
      if (pd !== undefined && typeof pd.value === "string" && pd.value !== "") base += ` extends ${pd.value}`;
    }
    base += "]";
  } else {
    let kind = "Function";
    if (src.startsWith("async function*") || src.startsWith("async *")) kind = "AsyncGeneratorFunction";
    else if (src.startsWith("async")) kind = "AsyncFunction";
    else if (/^function\s*\*/.test(src)) kind = "GeneratorFunction";
    base = name === "" ? `[${kind} (anonymous)]` : `[${kind}: ${name}]`;
  }
  if (level > ctx.depth) return base;
  const entries = [];
  propertyEntries(ctx, fn, level, entries, false);
  return entries.length === 0 ? base : group(base, "{", entries, "}", level);
}

function formatArray(ctx, a, level) {
  const len = a.length;
  const prefix = prefixOf(a, "Array");
  const shown = prefix === "Array" ? "" : `${prefix}(${len})`;
  if (level > ctx.depth) return "[Array]";
  const entries = [];
  const n = len < MAX_ITEMS ? len : MAX_ITEMS;
  let holes = 0;
  for (let i = 0; i < n; i++) {
    if (ctx.budget <= 0) {
      entries.push("...");
      break;
    }
    const d = getOwnPropertyDescriptor(a, i);
    if (d === undefined) {
      holes++;
      continue;
    }
    if (holes > 0) {
      entries.push(`<${holes} empty item${holes === 1 ? "" : "s"}>`);
      holes = 0;
    }
    const s = d.get !== undefined || d.set !== undefined ? "[Getter]" : formatValue(ctx, d.value, level + 1, true);
    ctx.budget -= s.length + 2;
    entries.push(s);
  }
  if (holes > 0) entries.push(`<${holes} empty item${holes === 1 ? "" : "s"}>`);
  if (len > n) entries.push(`... ${len - n} more item${len - n === 1 ? "" : "s"}`);
  propertyEntries(ctx, a, level, entries, true);
  return group(shown, "[", entries, "]", level);
}

function formatTypedArray(ctx, a, level, tag) {
  const len = typedArrayLength.call(a);
  if (level > ctx.depth) return `[${tag}]`;
  const entries = [];
  const n = len < MAX_ITEMS ? len : MAX_ITEMS;
  for (let i = 0; i < n; i++) entries.push(formatValue(ctx, a[i], level + 1, true));
  if (len > n) entries.push(`... ${len - n} more item${len - n === 1 ? "" : "s"}`);
  return group(`${tag}(${len})`, "[", entries, "]", level);
}

function formatArrayBuffer(ctx, b, level, name, byteLength) {
  const len = byteLength.call(b);
  if (level > ctx.depth) return `[${name}]`;
  const bytes = new Uint8Array(b, 0, len < MAX_BYTES ? len : MAX_BYTES);
  let hex = "";
  for (let i = 0; i < bytes.length; i++) hex += (i > 0 ? " " : "") + (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  if (len > MAX_BYTES) hex += ` ... ${len - MAX_BYTES} more byte${len - MAX_BYTES === 1 ? "" : "s"}`;
  return group(name, "{", [`[Uint8Contents]: <${hex}>`, `byteLength: ${len}`], "}", level);
}

function formatMap(ctx, m, level) {
  const size = mapSize.call(m);
  const prefix = `${prefixOf(m, "Map")}(${size})`;
  if (level > ctx.depth) return `[${prefixOf(m, "Map")}]`;
  const entries = [];
  let i = 0;
  for (const [key, value] of mapEntries.call(m)) {
    if (i++ >= MAX_ITEMS || ctx.budget <= 0) {
      entries.push(`... ${size - i + 1} more item${size - i + 1 === 1 ? "" : "s"}`);
      break;
    }
    const e = `${formatValue(ctx, key, level + 1, true)} => ${formatValue(ctx, value, level + 1, true)}`;
    ctx.budget -= e.length + 2;
    entries.push(e);
  }
  propertyEntries(ctx, m, level, entries, false);
  return group(prefix, "{", entries, "}", level);
}

function formatSet(ctx, s, level) {
  const size = setSize.call(s);
  const prefix = `${prefixOf(s, "Set")}(${size})`;
  if (level > ctx.depth) return `[${prefixOf(s, "Set")}]`;
  const entries = [];
  let i = 0;
  for (const value of setValues.call(s)) {
    if (i++ >= MAX_ITEMS || ctx.budget <= 0) {
      entries.push(`... ${size - i + 1} more item${size - i + 1 === 1 ? "" : "s"}`);
      break;
    }
    const e = formatValue(ctx, value, level + 1, true);
    ctx.budget -= e.length + 2;
    entries.push(e);
  }
  propertyEntries(ctx, s, level, entries, false);
  return group(prefix, "{", entries, "}", level);
}

function safeString(v) {
  try {
    return typeof v === "string" ? v : String(v);
  } catch {
    return "";
  }
}

function formatError(ctx, e, level) {
  let name = "Error", message = "", stack = "";
  try {
    name = safeString(e.name);
  } catch { /* getter threw */ }
  try {
    message = safeString(e.message);
  } catch { /* getter threw */ }
  try {
    const d = getOwnPropertyDescriptor(e, "stack");
    if (d !== undefined && typeof d.value === "string") stack = d.value;
  } catch { /* proxy */ }
  let head;
  try {
    head = errorToString.call(e);
  } catch {
    head = message === "" ? name : `${name}: ${message}`;
  }
  let out;
  if (stack === "") out = level === 0 ? head : `[${head}]`;
  else if (stack.startsWith(head)) out = stack.trimEnd();
  else out = `${head}\n${stack.trimEnd()}`;
  if (level > ctx.depth) return out;
  const entries = [];
  try {
    const d = getOwnPropertyDescriptor(e, "cause");
    if (d !== undefined && "value" in d) entries.push(`[cause]: ${formatValue(ctx, d.value, level + 1, true)}`);
  } catch { /* proxy */ }
  try {
    if (e instanceof AggregateError && ArrayIsArray(e.errors)) {
      entries.push(`[errors]: ${formatValue(ctx, e.errors, level + 1, true)}`);
    }
  } catch { /* getter threw */ }
  const keys = [];
  propertyEntries(ctx, e, level, keys, false);
  for (const kv of keys) {
    if (!kv.startsWith("message: ") && !kv.startsWith("name: ") && !kv.startsWith("cause: ")) entries.push(kv);
  }
  if (entries.length === 0) return out;
  return group(out, "{", entries, "}", level);
}

// https://console.spec.whatwg.org/#formatter with the Deno/Node
// extensions %o %O %j.
function formatArgs(args) {
  let out = "";
  let i = 0;
  const first = args[0];
  if (typeof first === "string" && args.length > 1 && first.includes("%")) {
    i = 1;
    let last = 0;
    for (let p = 0; p < first.length - 1; p++) {
      if (first.charCodeAt(p) !== 37) continue; // "%"
      const c = first[p + 1];
      if (c === "%") {
        out += first.slice(last, p) + "%";
        last = p + 2;
        p++;
        continue;
      }
      if (i >= args.length) continue;
      let sub;
      const a = args[i];
      switch (c) {
        case "s":
          if (typeof a === "string") sub = a;
          else if (typeof a === "bigint") sub = `${a}n`;
          else if (typeof a === "object" && a !== null || typeof a === "function") {
            sub = inspect(a, { depth: 1 });
          } else sub = formatValue({ budget: MAX_OUTPUT }, a, 0, false);
          break;
        case "d":
        case "i":
          if (typeof a === "bigint") sub = `${a}n`;
          else if (typeof a === "symbol") sub = "NaN";
          else sub = formatValue({ budget: 100 }, NumberParseInt(safeString(a), 10), 0, true);
          break;
        case "f":
          sub = typeof a === "symbol" ? "NaN" : formatValue({ budget: 100 }, NumberParseFloat(safeString(a)), 0, true);
          break;
        case "o":
        case "O":
          sub = inspect(a);
          break;
        case "j":
          sub = safeJSON(a);
          break;
        case "c":
          sub = "";
          break;
        default:
          continue;
      }
      out += first.slice(last, p) + sub;
      last = p + 2;
      p++;
      i++;
    }
    out += first.slice(last);
  }
  for (; i < args.length; i++) {
    if (out.length > MAX_OUTPUT) break;
    const a = args[i];
    if (i > 0) out += " ";
    out += typeof a === "string" ? a : inspect(a);
  }
  return out;
}

function safeJSON(v) {
  try {
    const s = JSONStringify(v);
    return s === undefined ? "undefined" : s;
  } catch (e) {
    return e instanceof TypeError && /circular|cyclic/i.test(safeString(e.message)) ? "[Circular]" : "[unserializable]";
  }
}

function truncate(s) {
  if (s.length <= MAX_OUTPUT) return s;
  let n = MAX_OUTPUT;
  const c = s.charCodeAt(n - 1);
  if (c >= 0xd800 && c <= 0xdbff) n--;
  return s.slice(0, n) + `... (${s.length - n} more characters truncated)`;
}

let groupIndent = "";

function emit(level, text) {
  if (groupIndent !== "") text = groupIndent + text.replaceAll("\n", "\n" + groupIndent);
  ops.op_log(level, truncate(text));
}

function logger(level) {
  return (...args) => {
    let text;
    try {
      text = formatArgs(args);
    } catch {
      text = "[console: formatting failed]";
    }
    emit(level, text);
  };
}

// https://console.spec.whatwg.org/#report-an-exception, for errors thrown
// by callbacks the platform calls (event listeners, timers).
function reportException(e) {
  emit("error", "Uncaught " + inspect(e));
}

const counts = new Map();
const timers = new Map();

function label(v) {
  return v === undefined ? "default" : safeString(v);
}

function elapsed(start) {
  const ms = ops.op_timer_now() - start;
  return `${Math.round(ms * 1000) / 1000}ms`;
}

function table(data, properties) {
  if (data === null || typeof data !== "object") return console.log(data);
  try {
    const rows = [];
    const cols = [];
    const addCol = (c) => {
      if (!cols.includes(c)) cols.push(c);
    };
    let hasValues = false;
    const entries = is(mapSize, data)
      ? [...mapEntries.call(data)].map(([key, v], i) => [i, key, v])
      : is(setSize, data)
      ? [...setValues.call(data)].map((v, i) => [i, undefined, v])
      : Object.keys(data).map((key) => [key, undefined, data[key]]);
    const isMap = is(mapSize, data);
    for (const [idx, key, v] of entries) {
      const row = { "(index)": String(idx) };
      if (isMap) row["Key"] = formatValue({ seen: [], depth: 0, budget: 1000 }, key, 1, true);
      if (v !== null && typeof v === "object") {
        for (const c of Object.keys(v)) {
          if (properties !== undefined && !properties.includes(c)) continue;
          addCol(c);
          row[c] = formatValue({ seen: [], depth: 0, budget: 1000 }, v[c], 1, true);
        }
      } else {
        hasValues = true;
        row["Values"] = formatValue({ seen: [], depth: 0, budget: 1000 }, v, 1, true);
      }
      rows.push(row);
    }
    const header = ["(index)", ...(isMap ? ["Key"] : []), ...(properties ?? cols), ...(hasValues ? ["Values"] : [])];
    const widths = header.map((h) => Math.max(h.length, ...rows.map((r) => (r[h] ?? "").length)) + 2);
    const line = (l, m, r) => l + widths.map((w) => "─".repeat(w)).join(m) + r;
    const cells = (vals) => "│" + vals.map((v, i) => " " + v.padEnd(widths[i] - 1)).join("│") + "│";
    const out = [line("┌", "┬", "┐"), cells(header), line("├", "┼", "┤")];
    for (const r of rows) out.push(cells(header.map((h) => r[h] ?? "")));
    out.push(line("└", "┴", "┘"));
    emit("log", out.join("\n"));
  } catch {
    console.log(data);
  }
}

const console = {
  log: logger("log"),
  info: logger("info"),
  debug: logger("debug"),
  warn: logger("warn"),
  error: logger("error"),
  dirxml: logger("log"),
  dir(item, options) {
    emit("log", inspect(item, options));
  },
  trace(...args) {
    let text;
    try {
      text = formatArgs(args);
    } catch {
      text = "";
    }
    let stack = "";
    try {
      stack = new ErrorCtor().stack ?? "";
      // drop this frame
      const nl = stack.indexOf("\n");
      stack = nl >= 0 ? stack.slice(nl + 1) : "";
    } catch { /* no stack */ }
    emit("log", `Trace${text === "" ? "" : ": " + text}\n${stack.trimEnd()}`);
  },
  assert(condition, ...data) {
    if (condition) return;
    if (data.length === 0) data = ["Assertion failed"];
    else if (typeof data[0] === "string") data[0] = `Assertion failed: ${data[0]}`;
    else data.unshift("Assertion failed");
    console.error(...data);
  },
  table,
  count(l) {
    l = label(l);
    const n = (counts.get(l) ?? 0) + 1;
    counts.set(l, n);
    emit("info", `${l}: ${n}`);
  },
  countReset(l) {
    l = label(l);
    if (counts.has(l)) counts.set(l, 0);
    else emit("warn", `Count for '${l}' does not exist`);
  },
  time(l) {
    l = label(l);
    if (timers.has(l)) return emit("warn", `Timer '${l}' already exists`);
    timers.set(l, ops.op_timer_now());
  },
  timeLog(l, ...data) {
    l = label(l);
    if (!timers.has(l)) return emit("warn", `Timer '${l}' does not exist`);
    const extra = data.length > 0 ? " " + formatArgs(data) : "";
    emit("info", `${l}: ${elapsed(timers.get(l))}${extra}`);
  },
  timeEnd(l) {
    l = label(l);
    if (!timers.has(l)) return emit("warn", `Timer '${l}' does not exist`);
    const start = timers.get(l);
    timers.delete(l);
    emit("info", `${l}: ${elapsed(start)}`);
  },
  group(...label) {
    if (label.length > 0) console.log(...label);
    groupIndent += "  ";
  },
  groupCollapsed(...label) {
    console.group(...label);
  },
  groupEnd() {
    groupIndent = groupIndent.slice(2);
  },
  clear() {},
};
Object.defineProperty(console, SymbolToStringTag, { value: "console", configurable: true });

return { console, inspect, reportException, formatArgs };
