// Headers: https://fetch.spec.whatwg.org/#headers-class
//
// A header list is text: one "name:value\n" line per header, in list
// order, names lowercased (the spec compares names case-insensitively;
// lowercasing once on the way in is what every engine does). It is the
// form Go hands over and takes back (FlattenHeaders, op_respond,
// op_fetch_start), so a request's headers reach script and a response's
// reach Go without conversion, and a list costs one string. Names are
// tokens and values hold no CR, LF or NUL, so the text is unambiguous:
// "name:" at the start of a line is exactly a header named name.
//
// The text lives in a holder's headerText property: the inner record of a
// Request or Response, or a holder of its own for `new Headers()`. A
// Request or Response makes its Headers object only when script asks for
// one, and that object reads and writes the same holder, so the two never
// disagree.
//
// Guards: "immutable" refuses every change. "request" and "response" refuse
// nothing here: a server runtime must let code set Host or Cookie on
// outbound requests and Set-Cookie on responses (Deno and workerd do the
// same), so the forbidden-name lists of the browser do not apply.

const _holder = k.internalSymbol("header list holder");
const _guard = k.internalSymbol("guard");

const ReflectOwnKeys = Reflect.ownKeys;
const SymbolIterator = Symbol.iterator;
const ObjectPropertyIsEnumerable = Object.prototype.propertyIsEnumerable;

// https://fetch.spec.whatwg.org/#concept-header-name: a token.
const tokenRe = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// https://fetch.spec.whatwg.org/#concept-header-value: no NUL, CR or LF,
// and no leading or trailing whitespace (normalisation removes it first).
// deno-lint-ignore no-control-regex
const badValueRe = /[\0\r\n]|[^\x00-\xff]/;
const httpWhitespaceEdges = /^[\t\n\r ]+|[\t\n\r ]+$/g;
// A value that is a ByteString, that normalisation leaves as it is and
// that is valid: one test instead of the three steps, for the common case.
// deno-lint-ignore no-control-regex
const plainValueRe = /^(?:[^\0\t\n\r \u0100-\uffff](?:[^\0\n\r\u0100-\uffff]*[^\0\t\n\r \u0100-\uffff])?)?$/;

// Names already found valid, as script wrote them → { lower, key, value,
// line }: the name lowercased, the key that finds its lines in header-list
// text (lower + ":"), and the last valid value seen with it and their
// header line. Apps use a handful of names, mostly with the same values,
// so this spares the name's token test on nearly every call and the
// value's test and the line's concatenation on most. A full cache is
// simply emptied.
const nameCache = new Map();
const NAME_CACHE_MAX = 256;

function checkName(name, prefix) {
  if (!tokenRe.test(name)) {
    throw new TypeError(`${prefix}: invalid header name "${name}".`);
  }
}

// nameEntry returns the cache entry of a name checkName accepted.
function nameEntry(name) {
  let e = nameCache.get(name);
  if (e === undefined) {
    const lower = name.toLowerCase();
    e = { lower, key: lower + ":", value: null, line: "" };
    if (nameCache.size >= NAME_CACHE_MAX) nameCache.clear();
    nameCache.set(name, e);
  }
  return e;
}

// headerKey converts and checks a name from script and returns the key
// that finds its lines (see findLine).
function headerKey(name, prefix) {
  if (typeof name === "string") {
    const e = nameCache.get(name);
    if (e !== undefined) return e.key;
  }
  name = k.toByteString(name, prefix, "name");
  checkName(name, prefix);
  return nameEntry(name).key;
}

// holderOf returns the header-list holder of a Headers object: its brand
// check (https://webidl.spec.whatwg.org/#dfn-create-operation-function),
// inline.
function holderOf(self) {
  const holder = self === null || self === undefined ? undefined : self[_holder];
  if (holder === undefined) throw new TypeError("Illegal invocation: not a Headers");
  return holder;
}

// https://fetch.spec.whatwg.org/#concept-header-value-normalize
function normalizeValue(value) {
  const c0 = value.charCodeAt(0);
  const c1 = value.charCodeAt(value.length - 1);
  if (c0 === 0x20 || c0 === 0x09 || c0 === 0x0a || c0 === 0x0d || c1 === 0x20 || c1 === 0x09 || c1 === 0x0a || c1 === 0x0d) {
    return value.replace(httpWhitespaceEdges, "");
  }
  return value;
}

function checkValue(name, value, prefix) {
  if (badValueRe.test(value)) {
    throw new TypeError(`${prefix}: invalid value for header "${name}".`);
  }
}

// headerLine validates and normalises one (name, value) from script and
// returns its line of header-list text.
function headerLine(name, value, prefix) {
  if (typeof name === "string" && typeof value === "string") {
    const e = nameCache.get(name);
    if (e !== undefined) {
      if (e.value === value) return e.line;
      if (plainValueRe.test(value)) {
        e.value = value;
        return (e.line = e.lower + ":" + value + "\n");
      }
    }
  }
  // The steps in the order the spec takes them: both conversions, then
  // the checks.
  name = k.toByteString(name, prefix, "name");
  value = normalizeValue(k.toByteString(value, prefix, "value"));
  checkName(name, prefix);
  checkValue(name, value, prefix);
  return nameEntry(name).lower + ":" + value + "\n";
}

// ---- header-list text

// Lines are found by key: a header name followed by ":".

// findLine returns the index of the first line at or after from whose
// name is key minus its final ":", or -1.
function findLine(text, key, from) {
  let p = text.indexOf(key, from);
  while (p > 0 && text.charCodeAt(p - 1) !== 0x0a) p = text.indexOf(key, p + 1);
  return p;
}

// lineEnd returns the index just past the line starting at or before p.
function lineEnd(text, p) {
  const end = text.indexOf("\n", p);
  return end === -1 ? text.length : end + 1;
}

// https://fetch.spec.whatwg.org/#concept-header-list-get
function textGet(text, key) {
  let p = text.indexOf(key);
  if (p > 0 && text.charCodeAt(p - 1) !== 0x0a) p = findLine(text, key, p + 1);
  if (p === -1) return null;
  let end = text.indexOf("\n", p + key.length);
  if (end === -1) end = text.length;
  let out = text.slice(p + key.length, end);
  for (p = findLine(text, key, end); p !== -1; p = findLine(text, key, end)) {
    const start = p + key.length;
    end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    out += ", " + text.slice(start, end);
  }
  return out;
}

function textHas(text, key) {
  return findLine(text, key, 0) !== -1;
}

// https://fetch.spec.whatwg.org/#concept-header-list-set: the first line
// of name becomes line, later ones go; with none, line is appended.
function textSet(text, key, line) {
  let p = findLine(text, key, 0);
  if (p === -1) return text + line;
  let out = "";
  let from = 0;
  let first = true;
  while (p !== -1) {
    out += text.slice(from, p);
    if (first) {
      out += line;
      first = false;
    }
    from = lineEnd(text, p);
    p = findLine(text, key, from);
  }
  return out + text.slice(from);
}

// https://fetch.spec.whatwg.org/#concept-header-list-delete
function textDelete(text, key) {
  let p = findLine(text, key, 0);
  if (p === -1) return text;
  let out = "";
  let from = 0;
  while (p !== -1) {
    out += text.slice(from, p);
    from = lineEnd(text, p);
    p = findLine(text, key, from);
  }
  return out + text.slice(from);
}

// textEntries returns the list as [name, value] pairs.
function textEntries(text) {
  const list = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    const colon = text.indexOf(":", start);
    if (colon !== -1 && colon < end) list.push([text.slice(start, colon), text.slice(colon + 1, end)]);
    start = end + 1;
  }
  return list;
}

// contentTypeLine returns the line appending a body's content type adds
// to text: "" when text names a content type already.
function contentTypeLine(text, type) {
  if (type === null || findLine(text, "content-type:", 0) !== -1) return "";
  return type === textPlain ? textPlainLine : "content-type:" + type + "\n";
}
const textPlain = "text/plain;charset=UTF-8";
const textPlainLine = "content-type:" + textPlain + "\n";

// https://fetch.spec.whatwg.org/#concept-header-list-sort-and-combine:
// sorted by name, values of one name joined with ", ", except set-cookie
// whose values stay separate entries.
function sortAndCombine(text) {
  const list = textEntries(text);
  const names = [];
  const seen = new Set();
  for (let i = 0; i < list.length; i++) {
    const n = list[i][0];
    if (!seen.has(n)) {
      seen.add(n);
      names.push(n);
    }
  }
  names.sort();
  const out = [];
  for (const n of names) {
    let combined = null;
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] !== n) continue;
      if (n === "set-cookie") out.push([n, list[i][1]]);
      else combined = combined === null ? list[i][1] : combined + ", " + list[i][1];
    }
    if (combined !== null) out.push([n, combined]);
  }
  return out;
}

// https://fetch.spec.whatwg.org/#concept-headers-fill: returns text with
// the headers of init appended.
function fillHeaderText(text, init, prefix) {
  if (init === undefined || init === null) {
    if (init === null) throw new TypeError(`${prefix}: headers init can not be null.`);
    return text;
  }
  if (typeof init !== "object" && typeof init !== "function") {
    throw new TypeError(`${prefix}: headers init must be a sequence of pairs or a record.`);
  }
  if (init instanceof Headers) {
    // Each header is appended again, checks included, as the spec's
    // iteration does (a fetched response's list came from Go).
    const src = init[_holder].headerText;
    let start = 0;
    while (start < src.length) {
      let end = src.indexOf("\n", start);
      if (end === -1) end = src.length;
      const colon = src.indexOf(":", start);
      if (colon !== -1 && colon < end) text += headerLine(src.slice(start, colon), src.slice(colon + 1, end), prefix);
      start = end + 1;
    }
    return text;
  }
  if (typeof init[SymbolIterator] === "function") {
    for (const pair of init) {
      if (pair === null || typeof pair !== "object" || typeof pair[SymbolIterator] !== "function") {
        throw new TypeError(`${prefix}: each header init pair must be a sequence.`);
      }
      const p = [...pair];
      if (p.length !== 2) {
        throw new TypeError(`${prefix}: each header init pair must have exactly 2 items, not ${p.length}.`);
      }
      text += headerLine(p[0], p[1], prefix);
    }
    return text;
  }
  // https://webidl.spec.whatwg.org/#js-record: every own key, skipping the
  // ones whose property is missing or not enumerable ([[GetOwnProperty]]
  // through propertyIsEnumerable, which makes no descriptor object).
  const keys = ReflectOwnKeys(init);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (!ObjectPropertyIsEnumerable.call(init, key)) continue;
    if (typeof key === "symbol") throw new TypeError(`${prefix}: header name is a symbol.`);
    text += headerLine(key, init[key], prefix);
  }
  return text;
}

function checkMutable(headers, prefix) {
  if (headers[_guard] === "immutable") throw new TypeError(`${prefix}: headers are immutable.`);
}

class Headers {
  // https://fetch.spec.whatwg.org/#dom-headers
  constructor(init = undefined) {
    const holder = { headerText: "" };
    this[_holder] = holder;
    this[_guard] = "none";
    if (init !== undefined) holder.headerText = fillHeaderText("", init, "Failed to construct 'Headers'");
  }

  // https://fetch.spec.whatwg.org/#concept-headers-append
  append(name, value) {
    const holder = holderOf(this);
    const prefix = "Failed to execute 'append' on 'Headers'";
    if (arguments.length < 2) k.requiredArguments(arguments.length, 2, prefix);
    const line = headerLine(name, value, prefix);
    checkMutable(this, prefix);
    holder.headerText += line;
  }

  delete(name) {
    const holder = holderOf(this);
    const prefix = "Failed to execute 'delete' on 'Headers'";
    if (arguments.length < 1) k.requiredArguments(arguments.length, 1, prefix);
    const key = headerKey(name, prefix);
    checkMutable(this, prefix);
    holder.headerText = textDelete(holder.headerText, key);
  }

  get(name) {
    const holder = holderOf(this);
    if (arguments.length < 1) k.requiredArguments(arguments.length, 1, "Failed to execute 'get' on 'Headers'");
    return textGet(holder.headerText, headerKey(name, "Failed to execute 'get' on 'Headers'"));
  }

  // https://fetch.spec.whatwg.org/#dom-headers-getsetcookie
  getSetCookie() {
    const text = holderOf(this).headerText;
    const out = [];
    const key = "set-cookie:";
    let p = findLine(text, key, 0);
    while (p !== -1) {
      const start = p + key.length;
      let end = text.indexOf("\n", start);
      if (end === -1) end = text.length;
      out.push(text.slice(start, end));
      p = findLine(text, key, end);
    }
    return out;
  }

  has(name) {
    const holder = holderOf(this);
    if (arguments.length < 1) k.requiredArguments(arguments.length, 1, "Failed to execute 'has' on 'Headers'");
    return textHas(holder.headerText, headerKey(name, "Failed to execute 'has' on 'Headers'"));
  }

  set(name, value) {
    const holder = holderOf(this);
    const prefix = "Failed to execute 'set' on 'Headers'";
    if (arguments.length < 2) k.requiredArguments(arguments.length, 2, prefix);
    const line = headerLine(name, value, prefix);
    checkMutable(this, prefix);
    holder.headerText = textSet(holder.headerText, line.slice(0, line.indexOf(":") + 1), line);
  }

  forEach(callback, thisArg = undefined) {
    k.webidlBrandCheck(this, _holder, "Headers");
    const prefix = "Failed to execute 'forEach' on 'Headers'";
    k.requiredArguments(arguments.length, 1, prefix);
    k.toCallback(callback, prefix, "Argument 1");
    // Like a pair iterator: the sorted view is taken again at each step.
    for (let i = 0; ; i++) {
      const pairs = sortAndCombine(this[_holder].headerText);
      if (i >= pairs.length) break;
      callback.call(thisArg, pairs[i][1], pairs[i][0], this);
    }
  }

  keys() {
    k.webidlBrandCheck(this, _holder, "Headers");
    return new HeadersIterator(this, "key");
  }

  values() {
    k.webidlBrandCheck(this, _holder, "Headers");
    return new HeadersIterator(this, "value");
  }

  entries() {
    k.webidlBrandCheck(this, _holder, "Headers");
    return new HeadersIterator(this, "key+value");
  }

  [k.customInspect](inspect, options) {
    const obj = {};
    const pairs = sortAndCombine(this[_holder].headerText);
    for (let i = 0; i < pairs.length; i++) {
      const n = pairs[i][0];
      const v = pairs[i][1];
      obj[n] = n in obj ? obj[n] + ", " + v : v;
    }
    return `Headers ${inspect(obj, options)}`;
  }
}
Headers.prototype[Symbol.iterator] = Headers.prototype.entries;
k.configureInterface(Headers);

// https://webidl.spec.whatwg.org/#es-default-iterator-object
const IteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));
const _target = k.internalSymbol("target");
const _kind = k.internalSymbol("kind");
const _index = k.internalSymbol("index");
class HeadersIterator {
  constructor(target, kind) {
    this[_target] = target;
    this[_kind] = kind;
    this[_index] = 0;
  }
  next() {
    k.webidlBrandCheck(this, _target, "Headers Iterator");
    const pairs = sortAndCombine(this[_target][_holder].headerText);
    const i = this[_index];
    if (i >= pairs.length) return { value: undefined, done: true };
    this[_index] = i + 1;
    const n = pairs[i][0];
    const v = pairs[i][1];
    const kind = this[_kind];
    return { value: kind === "key" ? n : kind === "value" ? v : [n, v], done: false };
  }
}
Object.setPrototypeOf(HeadersIterator.prototype, IteratorPrototype);
Object.defineProperty(HeadersIterator.prototype, Symbol.toStringTag, {
  value: "Headers Iterator", writable: false, enumerable: false, configurable: true,
});

// headersFromHolder makes the Headers object of a request or response: it
// reads and writes holder.headerText.
const HeadersPrototype = Headers.prototype;

function headersFromHolder(holder, guard) {
  return { __proto__: HeadersPrototype, [_holder]: holder, [_guard]: guard };
}

return {
  Headers,
  headersFromHolder,
  fillHeaderText,
  // headerTextGet(text, name): the value of header name (lowercase) in
  // header-list text, or null.
  headerTextGet: (text, name) => textGet(text, name + ":"),
  contentTypeLine,
  textPlain,
  textPlainLine,
};
