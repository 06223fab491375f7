// URL and URLSearchParams: https://url.spec.whatwg.org/#api
//
// Parsing runs in Go (url_ops.go), one op call each:
//   op_url_parse(input, base?)      → the URL's record, or null
//   op_url_set(href, setter, value) → the record after a URL setter
//   op_url_form_parse(input)        → [name0, value0, name1, value1, ...]
//   op_url_query_parse(record)      → the same for the query of a record
//   op_url_form_serialize(list, n)  → application/x-www-form-urlencoded
// A URL's record is one string: a header of one character per component
// start and end (offsets into the record), then the href (see urlRecord in
// url_ops.go), so a parse makes one string and a getter slices only what
// it returns. A URL too long for one-character offsets (a large data: URL)
// comes as its components joined by U+0000 (no serialized URL contains
// one) and its record is their array. A URLSearchParams keeps its list
// flat, names at even indexes and values at odd ones.

const { ObjectDefineProperty, webidlBrandCheck } = k;

const SEP = "\0";
// The components of a record (the order urlRecord in Go writes).
const HREF = 0, PROTOCOL = 1, USERNAME = 2, PASSWORD = 3, HOST = 4,
  HOSTNAME = 5, PORT = 6, PATHNAME = 7, SEARCH = 8, HASH = 9;

// Module-private state.
const _url = Symbol("url"); // URL: its record
const _query = Symbol("query"); // URL: its URLSearchParams, added on first use
const _list = Symbol("list"); // URLSearchParams: flat [name, value, ...] list
const _urlObject = Symbol("urlObject"); // URLSearchParams: WeakRef to its URL, or null

const StringToWellFormed = String.prototype.toWellFormed;
const StringIsWellFormed = String.prototype.isWellFormed;
const WeakRefCtor = WeakRef;
const WeakRefDeref = WeakRef.prototype.deref;
const JSONStringify = JSON.stringify;
const IteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));

// https://webidl.spec.whatwg.org/#es-USVString: ToString (which, unlike
// String(), throws on Symbols), then lone surrogates become U+FFFD. A
// string bound for op_url_parse needs no conversion (the engine hands Go
// each lone surrogate as U+FFFD, as the conversion would), so the hot
// paths convert only other values, and strings for messages.
function toUSVString(v) {
  return StringToWellFormed.call(typeof v === "string" ? v : `${v}`);
}

const USP = "URLSearchParams";

// missingArgs is the error for a call with fewer than the required
// arguments; callers test arguments.length inline (a call costs here).
function missingArgs(n, required, method, iface) {
  const what = method === null ? `construct '${iface}'` : `execute '${method}' on '${iface}'`;
  return new TypeError(`Failed to ${what}: ${required} argument${required > 1 ? "s" : ""} required, but only ${n} present.`);
}

// RECORD is the first character of a record (the offset of its href).
const RECORD = 2 * (HASH + 1);

// recordOf returns the record of a URL: the brand check of its
// attributes (https://webidl.spec.whatwg.org/#es-attributes), inline.
function recordOf(self) {
  const rec = self === null || self === undefined ? undefined : self[_url];
  if (rec === undefined) throw new TypeError("Illegal invocation: not a URL");
  return rec;
}

// listOf returns the list of a URLSearchParams, checking the brand.
function listOf(self) {
  const list = self === null || self === undefined ? undefined : self[_list];
  if (list === undefined) throw new TypeError(`Illegal invocation: not a ${USP}`);
  return list;
}

// toRecord returns the record of an op's result.
function toRecord(r) {
  return r.charCodeAt(0) === RECORD ? r : r.split(SEP);
}

// component returns component i of record rec.
function component(rec, i) {
  if (typeof rec !== "string") return rec[i];
  return rec.slice(rec.charCodeAt(i + i), rec.charCodeAt(i + i + 1));
}

// query returns the query of record rec: its search without the "?".
function query(rec) {
  if (typeof rec !== "string") return rec[SEARCH].slice(1);
  const start = rec.charCodeAt(2 * SEARCH);
  const end = rec.charCodeAt(2 * SEARCH + 1);
  return start === end ? "" : rec.slice(start + 1, end);
}

// Apps parse the same URLs over and over (their routes, the APIs they
// fetch), and a parse depends only on its input, so each VM keeps recent
// results: a hit costs a Map lookup instead of an op call. Records are
// shared, so nothing may change one in place (every update assigns a new
// one). A full cache is simply emptied.
const PARSE_CACHE_MAX = 128;
const PARSE_CACHE_MAX_KEY = 1024;
const absoluteCache = new Map(); // input → record
const relativeCache = new Map(); // base.length + ":" + base + input → record

// parseURL returns the record of input parsed against base (a string or
// undefined), or null on failure. Strings need not be USVStrings: the
// engine hands Go each lone surrogate as U+FFFD, which is what the
// USVString conversion makes of it.
// https://url.spec.whatwg.org/#api-url-parser
function parseURL(input, base) {
  const cache = base === undefined ? absoluteCache : relativeCache;
  const key = base === undefined ? input : `${base.length}:${base}${input}`;
  let parts = cache.get(key);
  if (parts !== undefined) return parts;
  const r = base === undefined ? ops.op_url_parse(input) : ops.op_url_parse(input, base);
  if (r === null) return null;
  parts = toRecord(r);
  if (key.length <= PARSE_CACHE_MAX_KEY) {
    if (cache.size >= PARSE_CACHE_MAX) cache.clear();
    cache.set(key, parts);
  }
  return parts;
}

function invalidURL(url, base) {
  const b = base === undefined ? "" : ` with base '${toUSVString(base)}'`;
  return new TypeError(`Failed to construct 'URL': Invalid URL '${toUSVString(url)}'${b}`);
}

// parseUrlencodedList returns the flat list: [name0, value0, ...].
// https://url.spec.whatwg.org/#concept-urlencoded-parser
function parseUrlencodedList(input) {
  return input === "" ? [] : ops.op_url_form_parse(input);
}

// https://url.spec.whatwg.org/#concept-urlencoded-serializer
function serializeUrlencoded(list) {
  if (list.length === 0) return "";
  const s = ops.op_url_form_serialize(list.join(SEP), list.length);
  // null: some name or value contains U+0000, so the join is ambiguous.
  return s !== null ? s : ops.op_url_form_serialize(JSONStringify(list), -1);
}

// Makes the attributes and operations of a WebIDL interface, static ones
// included, enumerable as WebIDL defines them, and sets its toStringTag.
function webidlInterface(cls, name) {
  for (const [obj, skip] of [[cls.prototype, ["constructor"]], [cls, ["length", "name", "prototype"]]]) {
    for (const key of Object.getOwnPropertyNames(obj)) {
      if (skip.includes(key)) continue;
      const desc = Object.getOwnPropertyDescriptor(obj, key);
      desc.enumerable = true;
      ObjectDefineProperty(obj, key, desc);
    }
  }
  ObjectDefineProperty(cls.prototype, Symbol.toStringTag, { value: name, configurable: true });
}

class URLSearchParams {
  // https://url.spec.whatwg.org/#dom-urlsearchparams-urlsearchparams
  constructor(init = "") {
    this[_urlObject] = null;
    if (init !== null && (typeof init === "object" || typeof init === "function")) {
      const iter = init[Symbol.iterator];
      if (iter !== undefined && iter !== null) {
        this[_list] = listFromSequence(init, iter);
      } else {
        this[_list] = listFromRecord(init);
      }
    } else {
      let s = toUSVString(init);
      if (s.charCodeAt(0) === 0x3f) s = s.slice(1);
      this[_list] = parseUrlencodedList(s);
    }
  }

  get size() {
    webidlBrandCheck(this, _list, USP);
    return this[_list].length / 2;
  }

  // https://url.spec.whatwg.org/#dom-urlsearchparams-append
  append(name, value) {
    webidlBrandCheck(this, _list, USP);
    if (arguments.length < 2) throw missingArgs(arguments.length, 2, "append", USP);
    this[_list].push(toUSVString(name), toUSVString(value));
    updateURL(this);
  }

  // https://url.spec.whatwg.org/#dom-urlsearchparams-delete
  delete(name, value = undefined) {
    webidlBrandCheck(this, _list, USP);
    if (arguments.length < 1) throw missingArgs(arguments.length, 1, "delete", USP);
    name = toUSVString(name);
    if (value !== undefined) value = toUSVString(value);
    const list = this[_list];
    const out = [];
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] === name && (value === undefined || list[i + 1] === value)) continue;
      out.push(list[i], list[i + 1]);
    }
    this[_list] = out;
    updateURL(this);
  }

  // https://url.spec.whatwg.org/#dom-urlsearchparams-get
  get(name) {
    const list = listOf(this);
    if (arguments.length < 1) throw missingArgs(arguments.length, 1, "get", USP);
    if (typeof name !== "string") name = toUSVString(name);
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] === name) return list[i + 1];
    }
    // The list holds USVStrings only, so the conversion of a string name
    // matters only when it has a lone surrogate.
    if (!StringIsWellFormed.call(name)) return this.get(toUSVString(name));
    return null;
  }

  // https://url.spec.whatwg.org/#dom-urlsearchparams-getall
  getAll(name) {
    webidlBrandCheck(this, _list, USP);
    if (arguments.length < 1) throw missingArgs(arguments.length, 1, "getAll", USP);
    name = toUSVString(name);
    const list = this[_list];
    const out = [];
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] === name) out.push(list[i + 1]);
    }
    return out;
  }

  // https://url.spec.whatwg.org/#dom-urlsearchparams-has
  has(name, value = undefined) {
    webidlBrandCheck(this, _list, USP);
    if (arguments.length < 1) throw missingArgs(arguments.length, 1, "has", USP);
    name = toUSVString(name);
    if (value !== undefined) value = toUSVString(value);
    const list = this[_list];
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] === name && (value === undefined || list[i + 1] === value)) return true;
    }
    return false;
  }

  // https://url.spec.whatwg.org/#dom-urlsearchparams-set: the first pair
  // named name gets value and later ones go; with none, the pair is appended.
  set(name, value) {
    webidlBrandCheck(this, _list, USP);
    if (arguments.length < 2) throw missingArgs(arguments.length, 2, "set", USP);
    name = toUSVString(name);
    value = toUSVString(value);
    const list = this[_list];
    const out = [];
    let found = false;
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] !== name) {
        out.push(list[i], list[i + 1]);
      } else if (!found) {
        found = true;
        out.push(name, value);
      }
    }
    if (!found) out.push(name, value);
    this[_list] = out;
    updateURL(this);
  }

  // https://url.spec.whatwg.org/#dom-urlsearchparams-sort: stable, by UTF-16
  // code units (Array.prototype.sort is stable; < compares code units).
  sort() {
    webidlBrandCheck(this, _list, USP);
    const list = this[_list];
    const pairs = [];
    for (let i = 0; i < list.length; i += 2) pairs.push(i);
    pairs.sort((a, b) => (list[a] < list[b] ? -1 : list[a] > list[b] ? 1 : 0));
    const out = [];
    for (let j = 0; j < pairs.length; j++) out.push(list[pairs[j]], list[pairs[j] + 1]);
    this[_list] = out;
    updateURL(this);
  }

  forEach(callback, thisArg = undefined) {
    webidlBrandCheck(this, _list, USP);
    if (arguments.length < 1) throw missingArgs(arguments.length, 1, "forEach", USP);
    if (typeof callback !== "function") {
      throw new TypeError(`Failed to execute 'forEach' on '${USP}': parameter 1 is not of type 'Function'.`);
    }
    // The list is re-read each step: callbacks may change it.
    for (let i = 0; i < this[_list].length; i += 2) {
      const list = this[_list];
      callback.call(thisArg, list[i + 1], list[i], this);
    }
  }

  entries() {
    webidlBrandCheck(this, _list, USP);
    return newIterator(this, KEY_VALUE);
  }

  keys() {
    webidlBrandCheck(this, _list, USP);
    return newIterator(this, KEY);
  }

  values() {
    webidlBrandCheck(this, _list, USP);
    return newIterator(this, VALUE);
  }

  // https://url.spec.whatwg.org/#urlsearchparams-stringification-behavior
  toString() {
    webidlBrandCheck(this, _list, USP);
    return serializeUrlencoded(this[_list]);
  }
}
webidlInterface(URLSearchParams, USP);
ObjectDefineProperty(URLSearchParams.prototype, Symbol.iterator, {
  value: URLSearchParams.prototype.entries, writable: true, configurable: true,
});

// sequence<sequence<USVString>>: https://webidl.spec.whatwg.org/#js-sequence
function listFromSequence(init, iter) {
  if (typeof iter !== "function") {
    throw new TypeError(`Failed to construct '${USP}': The object's @@iterator is not callable.`);
  }
  const list = [];
  for (const pair of { [Symbol.iterator]: () => iter.call(init) }) {
    if (pair === null || (typeof pair !== "object" && typeof pair !== "function") || typeof pair[Symbol.iterator] !== "function") {
      throw new TypeError(`Failed to construct '${USP}': The provided value cannot be converted to a sequence.`);
    }
    const p = Array.from(pair, toUSVString);
    if (p.length !== 2) {
      throw new TypeError(`Failed to construct '${USP}': Sequence initializer must only contain pair elements`);
    }
    list.push(p[0], p[1]);
  }
  return list;
}

// record<USVString, USVString>: https://webidl.spec.whatwg.org/#js-record.
// Keys that USV conversion makes equal collapse into the first one's place.
function listFromRecord(init) {
  const list = [];
  const seen = new Map(); // name → index of its value in list
  for (const key of Reflect.ownKeys(init)) {
    const desc = Reflect.getOwnPropertyDescriptor(init, key);
    if (desc === undefined || !desc.enumerable) continue;
    const name = toUSVString(key);
    const value = toUSVString(init[key]);
    const at = seen.get(name);
    if (at === undefined) {
      seen.set(name, list.length + 1);
      list.push(name, value);
    } else {
      list[at] = value;
    }
  }
  return list;
}

// https://url.spec.whatwg.org/#concept-urlsearchparams-update
function updateURL(params) {
  const ref = params[_urlObject];
  if (ref === null) return;
  const url = WeakRefDeref.call(ref);
  if (url === undefined) return;
  url[_url] = toRecord(ops.op_url_set(component(url[_url], HREF), "search", serializeUrlencoded(params[_list])));
}

// The params of a URL hold it through a WeakRef: the URL holds its params,
// and a cycle would wait for the cycle collector, which walks the whole
// heap; the params of an unreachable URL have nothing to update.
function newURLSearchParams(list, url) {
  return { __proto__: URLSearchParamsPrototype, [_list]: list, [_urlObject]: url === null ? null : new WeakRefCtor(url) };
}
const URLSearchParamsPrototype = URLSearchParams.prototype;

// https://webidl.spec.whatwg.org/#es-default-iterator-object: live over the
// list, so changes during iteration are seen.
const KEY = 0, VALUE = 1, KEY_VALUE = 2;
const _target = Symbol("target"), _kind = Symbol("kind"), _index = Symbol("index");
const URLSearchParamsIteratorPrototype = Object.create(IteratorPrototype, {
  next: {
    value: function next() {
      webidlBrandCheck(this, _target, `${USP} Iterator`);
      const list = this[_target][_list];
      const i = this[_index];
      if (i >= list.length) return { value: undefined, done: true };
      this[_index] = i + 2;
      const kind = this[_kind];
      return { value: kind === KEY ? list[i] : kind === VALUE ? list[i + 1] : [list[i], list[i + 1]], done: false };
    },
    writable: true, enumerable: true, configurable: true,
  },
  [Symbol.toStringTag]: { value: `${USP} Iterator`, configurable: true },
});

function newIterator(target, kind) {
  return { __proto__: URLSearchParamsIteratorPrototype, [_target]: target, [_kind]: kind, [_index]: 0 };
}

// setURL runs a URL setter: the basic URL parser with a state override.
// https://url.spec.whatwg.org/#urlutils-members
function setURL(url, setter, value) {
  url[_url] = toRecord(ops.op_url_set(component(url[_url], HREF), setter, toUSVString(value)));
}

function newURL(parts) {
  return { __proto__: URL.prototype, [_url]: parts };
}

class URL {
  // https://url.spec.whatwg.org/#dom-url-url
  constructor(url, base = undefined) {
    if (arguments.length < 1) throw missingArgs(arguments.length, 1, null, "URL");
    if (typeof url !== "string") url = toUSVString(url);
    if (base !== undefined && typeof base !== "string") base = toUSVString(base);
    const parts = parseURL(url, base);
    if (parts === null) throw invalidURL(url, base);
    this[_url] = parts;
  }

  // https://url.spec.whatwg.org/#dom-url-parse
  static parse(url, base = undefined) {
    if (arguments.length < 1) throw missingArgs(arguments.length, 1, "parse", "URL");
    if (typeof url !== "string") url = toUSVString(url);
    if (base !== undefined && typeof base !== "string") base = toUSVString(base);
    const parts = parseURL(url, base);
    return parts === null ? null : newURL(parts);
  }

  // https://url.spec.whatwg.org/#dom-url-canparse
  static canParse(url, base = undefined) {
    if (arguments.length < 1) throw missingArgs(arguments.length, 1, "canParse", "URL");
    if (typeof url !== "string") url = toUSVString(url);
    if (base !== undefined && typeof base !== "string") base = toUSVString(base);
    return parseURL(url, base) !== null;
  }

  // https://url.spec.whatwg.org/#dom-url-href
  get href() {
    return component(recordOf(this), HREF);
  }

  set href(value) {
    webidlBrandCheck(this, _url, "URL");
    value = toUSVString(value);
    const parts = parseURL(value, undefined);
    if (parts === null) throw new TypeError(`Failed to set the 'href' property on 'URL': Invalid URL '${value}'`);
    this[_url] = parts;
    const q = this[_query];
    if (q !== undefined) q[_list] = parseUrlencodedList(query(parts));
  }

  // https://url.spec.whatwg.org/#dom-url-origin
  get origin() {
    return serializeOrigin(recordOf(this));
  }

  get protocol() {
    return component(recordOf(this), PROTOCOL);
  }

  set protocol(value) {
    webidlBrandCheck(this, _url, "URL");
    setURL(this, "protocol", value);
  }

  get username() {
    return component(recordOf(this), USERNAME);
  }

  set username(value) {
    webidlBrandCheck(this, _url, "URL");
    setURL(this, "username", value);
  }

  get password() {
    return component(recordOf(this), PASSWORD);
  }

  set password(value) {
    webidlBrandCheck(this, _url, "URL");
    setURL(this, "password", value);
  }

  get host() {
    return component(recordOf(this), HOST);
  }

  set host(value) {
    webidlBrandCheck(this, _url, "URL");
    setURL(this, "host", value);
  }

  get hostname() {
    return component(recordOf(this), HOSTNAME);
  }

  set hostname(value) {
    webidlBrandCheck(this, _url, "URL");
    setURL(this, "hostname", value);
  }

  get port() {
    return component(recordOf(this), PORT);
  }

  set port(value) {
    webidlBrandCheck(this, _url, "URL");
    setURL(this, "port", value);
  }

  get pathname() {
    return component(recordOf(this), PATHNAME);
  }

  set pathname(value) {
    webidlBrandCheck(this, _url, "URL");
    setURL(this, "pathname", value);
  }

  get search() {
    return component(recordOf(this), SEARCH);
  }

  // https://url.spec.whatwg.org/#dom-url-search
  set search(value) {
    webidlBrandCheck(this, _url, "URL");
    value = toUSVString(value);
    setURL(this, "search", value);
    const q = this[_query];
    if (q !== undefined) q[_list] = parseUrlencodedList(value.charCodeAt(0) === 0x3f ? value.slice(1) : value);
  }

  // https://url.spec.whatwg.org/#dom-url-searchparams: made on first use and
  // the same object afterwards.
  get searchParams() {
    const rec = recordOf(this);
    let q = this[_query];
    if (q === undefined) {
      q = newURLSearchParams(typeof rec === "string" ? ops.op_url_query_parse(rec) : parseUrlencodedList(query(rec)), this);
      this[_query] = q;
    }
    return q;
  }

  get hash() {
    return component(recordOf(this), HASH);
  }

  set hash(value) {
    webidlBrandCheck(this, _url, "URL");
    setURL(this, "hash", value);
  }

  toString() {
    return component(recordOf(this), HREF);
  }

  toJSON() {
    return component(recordOf(this), HREF);
  }
}
webidlInterface(URL, "URL");

// Schemes whose URLs have a tuple origin (https://url.spec.whatwg.org/#origin).
const tupleOriginProtocols = new Set(["ftp:", "http:", "https:", "ws:", "wss:"]);

// serializeOrigin returns the ASCII serialization of a URL's origin; opaque
// origins serialize as "null".
// https://url.spec.whatwg.org/#concept-url-origin
// https://html.spec.whatwg.org/multipage/browsers.html#ascii-serialisation-of-an-origin
function serializeOrigin(parts) {
  const protocol = component(parts, PROTOCOL);
  if (tupleOriginProtocols.has(protocol)) return protocol + "//" + component(parts, HOST);
  if (protocol === "blob:") {
    const path = parseURL(component(parts, PATHNAME), undefined);
    if (path !== null) {
      const p = component(path, PROTOCOL);
      if (p === "http:" || p === "https:") return p + "//" + component(path, HOST);
    }
  }
  return "null";
}

// urlHref parses input against base (strings or undefined) and returns the
// href, or null on failure: for layers (fetch) that need only a parse.
function urlHref(input, base) {
  const parts = parseURL(toUSVString(input), base === undefined ? undefined : toUSVString(base));
  return parts === null ? null : component(parts, HREF);
}

// The header of a record whose username and password are empty has these
// characters at 2 * USERNAME (an empty component's offsets are RECORD).
const NO_CREDENTIALS = String.fromCharCode(RECORD, RECORD, RECORD, RECORD);

// requestHref parses input (a string; its lone surrogates count as U+FFFD)
// for a Request and returns its href; null when it does not parse,
// undefined when it includes credentials
// (https://url.spec.whatwg.org/#include-credentials).
function requestHref(input) {
  const rec = parseURL(input, undefined);
  if (rec === null) return null;
  if (typeof rec !== "string") return rec[USERNAME] !== "" || rec[PASSWORD] !== "" ? undefined : rec[HREF];
  if (!rec.startsWith(NO_CREDENTIALS, 2 * USERNAME)) return undefined;
  return rec.slice(RECORD, rec.charCodeAt(2 * HREF + 1));
}

// isURLSearchParams tells a real URLSearchParams (fetch's body extraction).
function isURLSearchParams(v) {
  return v !== null && typeof v === "object" && _list in v;
}

// parseUrlencoded returns the name-value pairs of
// application/x-www-form-urlencoded input: [[name, value], ...]
// (Body.formData()).
function parseUrlencoded(input) {
  const list = parseUrlencodedList(toUSVString(input));
  const pairs = [];
  for (let i = 0; i < list.length; i += 2) pairs.push([list[i], list[i + 1]]);
  return pairs;
}

return { URL, URLSearchParams, urlHref, requestHref, isURLSearchParams, parseUrlencoded };
