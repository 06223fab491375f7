// Headers: https://fetch.spec.whatwg.org/#headers-class
//
// A header list is an array of [name, value] pairs, names lowercased (the
// spec compares names case-insensitively; lowercasing once on the way in is
// what every engine does). Request and Response hold their list directly and
// make a Headers object only when script asks for one; a Headers object
// wraps the same array, so the two never disagree.
//
// Guards: "immutable" refuses every change. "request" and "response" refuse
// nothing here: a server runtime must let code set Host or Cookie on
// outbound requests and Set-Cookie on responses (Deno and workerd do the
// same), so the forbidden-name lists of the browser do not apply.

const _list = k.internalSymbol("header list");
const _guard = k.internalSymbol("guard");

// https://fetch.spec.whatwg.org/#concept-header-name: a token.
const tokenRe = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// https://fetch.spec.whatwg.org/#concept-header-value: no NUL, CR or LF,
// and no leading or trailing whitespace (normalisation removes it first).
// deno-lint-ignore no-control-regex
const badValueRe = /[\0\r\n]|[^\x00-\xff]/;
const httpWhitespaceEdges = /^[\t\n\r ]+|[\t\n\r ]+$/g;

function checkName(name, prefix) {
  if (!tokenRe.test(name)) {
    throw new TypeError(`${prefix}: invalid header name "${name}".`);
  }
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

// Validates and normalises one (name, value) from script; returns the
// lowercased name and normalised value.
function validHeader(name, value, prefix) {
  name = k.toByteString(name, prefix, "name");
  value = normalizeValue(k.toByteString(value, prefix, "value"));
  checkName(name, prefix);
  checkValue(name, value, prefix);
  return [name.toLowerCase(), value];
}

// https://fetch.spec.whatwg.org/#concept-header-list-get
function listGet(list, name) {
  let out = null;
  for (let i = 0; i < list.length; i++) {
    if (list[i][0] === name) out = out === null ? list[i][1] : out + ", " + list[i][1];
  }
  return out;
}

function listHas(list, name) {
  for (let i = 0; i < list.length; i++) if (list[i][0] === name) return true;
  return false;
}

// https://fetch.spec.whatwg.org/#concept-header-list-set: replace the first
// entry of name, drop the others, or append.
function listSet(list, name, value) {
  let found = false;
  for (let i = 0; i < list.length; i++) {
    if (list[i][0] !== name) continue;
    if (!found) {
      list[i] = [name, value];
      found = true;
    } else {
      list.splice(i--, 1);
    }
  }
  if (!found) list.push([name, value]);
}

function listDelete(list, name) {
  for (let i = 0; i < list.length; i++) if (list[i][0] === name) list.splice(i--, 1);
}

// https://fetch.spec.whatwg.org/#concept-header-list-sort-and-combine:
// sorted by name, values of one name joined with ", ", except set-cookie
// whose values stay separate entries.
function sortAndCombine(list) {
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
    if (n === "set-cookie") {
      for (let i = 0; i < list.length; i++) if (list[i][0] === n) out.push([n, list[i][1]]);
    } else {
      out.push([n, listGet(list, n)]);
    }
  }
  return out;
}

// The header list crosses to Go as "name:value\n" lines.
function serializeHeaderList(list) {
  let s = "";
  for (let i = 0; i < list.length; i++) s += list[i][0] + ":" + list[i][1] + "\n";
  return s;
}

function parseHeaderList(flat) {
  const list = [];
  let start = 0;
  while (start < flat.length) {
    let end = flat.indexOf("\n", start);
    if (end === -1) end = flat.length;
    const colon = flat.indexOf(":", start);
    if (colon !== -1 && colon < end) list.push([flat.slice(start, colon), flat.slice(colon + 1, end)]);
    start = end + 1;
  }
  return list;
}

// https://fetch.spec.whatwg.org/#concept-headers-fill
function fillHeaders(headers, init, prefix) {
  if (init === undefined || init === null) {
    if (init === null) throw new TypeError(`${prefix}: headers init can not be null.`);
    return;
  }
  if (typeof init !== "object" && typeof init !== "function") {
    throw new TypeError(`${prefix}: headers init must be a sequence of pairs or a record.`);
  }
  if (init instanceof Headers) {
    // Fast path: a Headers' list is valid already.
    const list = init[_list];
    for (let i = 0; i < list.length; i++) appendHeader(headers, list[i][0], list[i][1], prefix);
    return;
  }
  if (typeof init[Symbol.iterator] === "function") {
    for (const pair of init) {
      if (pair === null || typeof pair !== "object" || typeof pair[Symbol.iterator] !== "function") {
        throw new TypeError(`${prefix}: each header init pair must be a sequence.`);
      }
      const p = [...pair];
      if (p.length !== 2) {
        throw new TypeError(`${prefix}: each header init pair must have exactly 2 items, not ${p.length}.`);
      }
      appendHeader(headers, p[0], p[1], prefix);
    }
    return;
  }
  for (const key of Reflect.ownKeys(init)) {
    const desc = Reflect.getOwnPropertyDescriptor(init, key);
    if (desc === undefined || !desc.enumerable) continue;
    if (typeof key === "symbol") throw new TypeError(`${prefix}: header name is a symbol.`);
    appendHeader(headers, key, init[key], prefix);
  }
}

// https://fetch.spec.whatwg.org/#concept-headers-append
function appendHeader(headers, name, value, prefix) {
  const [n, v] = validHeader(name, value, prefix);
  if (headers[_guard] === "immutable") throw new TypeError(`${prefix}: headers are immutable.`);
  headers[_list].push([n, v]);
}

function checkMutable(headers, prefix) {
  if (headers[_guard] === "immutable") throw new TypeError(`${prefix}: headers are immutable.`);
}

class Headers {
  // https://fetch.spec.whatwg.org/#dom-headers
  constructor(init = undefined) {
    this[_list] = [];
    this[_guard] = "none";
    if (init !== undefined) fillHeaders(this, init, "Failed to construct 'Headers'");
  }

  append(name, value) {
    k.webidlBrandCheck(this, _list, "Headers");
    const prefix = "Failed to execute 'append' on 'Headers'";
    k.requiredArguments(arguments.length, 2, prefix);
    appendHeader(this, name, value, prefix);
  }

  delete(name) {
    k.webidlBrandCheck(this, _list, "Headers");
    const prefix = "Failed to execute 'delete' on 'Headers'";
    k.requiredArguments(arguments.length, 1, prefix);
    name = k.toByteString(name, prefix, "name");
    checkName(name, prefix);
    checkMutable(this, prefix);
    listDelete(this[_list], name.toLowerCase());
  }

  get(name) {
    k.webidlBrandCheck(this, _list, "Headers");
    const prefix = "Failed to execute 'get' on 'Headers'";
    k.requiredArguments(arguments.length, 1, prefix);
    name = k.toByteString(name, prefix, "name");
    checkName(name, prefix);
    return listGet(this[_list], name.toLowerCase());
  }

  // https://fetch.spec.whatwg.org/#dom-headers-getsetcookie
  getSetCookie() {
    k.webidlBrandCheck(this, _list, "Headers");
    const out = [];
    const list = this[_list];
    for (let i = 0; i < list.length; i++) if (list[i][0] === "set-cookie") out.push(list[i][1]);
    return out;
  }

  has(name) {
    k.webidlBrandCheck(this, _list, "Headers");
    const prefix = "Failed to execute 'has' on 'Headers'";
    k.requiredArguments(arguments.length, 1, prefix);
    name = k.toByteString(name, prefix, "name");
    checkName(name, prefix);
    return listHas(this[_list], name.toLowerCase());
  }

  set(name, value) {
    k.webidlBrandCheck(this, _list, "Headers");
    const prefix = "Failed to execute 'set' on 'Headers'";
    k.requiredArguments(arguments.length, 2, prefix);
    const [n, v] = validHeader(name, value, prefix);
    checkMutable(this, prefix);
    listSet(this[_list], n, v);
  }

  forEach(callback, thisArg = undefined) {
    k.webidlBrandCheck(this, _list, "Headers");
    const prefix = "Failed to execute 'forEach' on 'Headers'";
    k.requiredArguments(arguments.length, 1, prefix);
    k.toCallback(callback, prefix, "Argument 1");
    // Like a pair iterator: the sorted view is taken again at each step.
    for (let i = 0; ; i++) {
      const pairs = sortAndCombine(this[_list]);
      if (i >= pairs.length) break;
      callback.call(thisArg, pairs[i][1], pairs[i][0], this);
    }
  }

  keys() {
    k.webidlBrandCheck(this, _list, "Headers");
    return new HeadersIterator(this, "key");
  }

  values() {
    k.webidlBrandCheck(this, _list, "Headers");
    return new HeadersIterator(this, "value");
  }

  entries() {
    k.webidlBrandCheck(this, _list, "Headers");
    return new HeadersIterator(this, "key+value");
  }

  [k.customInspect](inspect, options) {
    const obj = {};
    for (const [n, v] of sortAndCombine(this[_list])) obj[n] = n in obj ? obj[n] + ", " + v : v;
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
    const pairs = sortAndCombine(this[_target][_list]);
    const i = this[_index];
    if (i >= pairs.length) return { value: undefined, done: true };
    this[_index] = i + 1;
    const [n, v] = pairs[i];
    const kind = this[_kind];
    return { value: kind === "key" ? n : kind === "value" ? v : [n, v], done: false };
  }
}
Object.setPrototypeOf(HeadersIterator.prototype, IteratorPrototype);
Object.defineProperty(HeadersIterator.prototype, Symbol.toStringTag, {
  value: "Headers Iterator", writable: false, enumerable: false, configurable: true,
});

// headersFromList makes the Headers object of a request or response,
// sharing list.
function headersFromList(list, guard) {
  const h = Object.create(Headers.prototype);
  h[_list] = list;
  h[_guard] = guard;
  return h;
}

function headerListOf(headers) {
  return headers[_list];
}

function setHeadersGuard(headers, guard) {
  headers[_guard] = guard;
}

return {
  Headers,
  headersFromList,
  headerListOf,
  setHeadersGuard,
  fillHeaders,
  listGet,
  listHas,
  listSet,
  serializeHeaderList,
  parseHeaderList,
};
