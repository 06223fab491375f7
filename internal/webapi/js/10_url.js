// URL and URLSearchParams: https://url.spec.whatwg.org/#api
//
// Parsing runs in Go (url_ops.go), one op call each:
//   op_url_parse(input, base?)      → components joined by U+0000, or null
//   op_url_set(href, setter, value) → components after a URL setter
//   op_url_form_parse(input)        → [name0, value0, name1, value1, ...]
//   op_url_form_serialize(list, n)  → application/x-www-form-urlencoded
// No serialized URL contains U+0000, so a URL keeps the split components as
// its inner record and getters only index it. A URLSearchParams keeps its
// list flat, names at even indexes and values at odd ones.

const { ObjectDefineProperty, webidlBrandCheck } = k;

const SEP = "\0";
// Indexes into a URL's component array (the order urlComponents in Go writes).
const HREF = 0, PROTOCOL = 1, USERNAME = 2, PASSWORD = 3, HOST = 4,
  HOSTNAME = 5, PORT = 6, PATHNAME = 7, SEARCH = 8, HASH = 9;

// Module-private state.
const _url = Symbol("url"); // URL: component array
const _query = Symbol("query"); // URL: its URLSearchParams, made on first use
const _list = Symbol("list"); // URLSearchParams: flat [name, value, ...] list
const _urlObject = Symbol("urlObject"); // URLSearchParams: owning URL or null

const StringToWellFormed = String.prototype.toWellFormed;
const JSONStringify = JSON.stringify;
const IteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));

// https://webidl.spec.whatwg.org/#es-USVString: ToString (which, unlike
// String(), throws on Symbols), then lone surrogates become U+FFFD. Strings
// bound for the ops go through it too: the engine hands Go a lone surrogate
// as three bytes of WTF-8, which Go would read as three U+FFFD.
function toUSVString(v) {
  return StringToWellFormed.call(typeof v === "string" ? v : `${v}`);
}

// missingArgs is the error for a call with fewer than the required
// arguments; callers test arguments.length inline (a call costs here).
function missingArgs(n, required, method, iface) {
  const what = method === null ? `construct '${iface}'` : `execute '${method}' on '${iface}'`;
  return new TypeError(`Failed to ${what}: ${required} argument${required > 1 ? "s" : ""} required, but only ${n} present.`);
}

// Apps parse the same URLs over and over (their routes, the APIs they
// fetch), and a parse depends only on its input, so each VM keeps recent
// results: a hit costs a Map lookup instead of an op call and a split. The
// component arrays are shared, so nothing may change one in place (every
// update assigns a new array). A full cache is simply emptied.
const PARSE_CACHE_MAX = 128;
const PARSE_CACHE_MAX_KEY = 1024;
const absoluteCache = new Map(); // input → components
const relativeCache = new Map(); // base.length + ":" + base + input → components

// parseURL returns the component array of input parsed against base (a
// string or undefined), or null on failure.
// https://url.spec.whatwg.org/#api-url-parser
function parseURL(input, base) {
  const cache = base === undefined ? absoluteCache : relativeCache;
  const key = base === undefined ? input : `${base.length}:${base}${input}`;
  let parts = cache.get(key);
  if (parts !== undefined) return parts;
  const r = base === undefined ? ops.op_url_parse(input) : ops.op_url_parse(input, base);
  if (r === null) return null;
  parts = r.split(SEP);
  if (key.length <= PARSE_CACHE_MAX_KEY) {
    if (cache.size >= PARSE_CACHE_MAX) cache.clear();
    cache.set(key, parts);
  }
  return parts;
}

function invalidURL(url, base) {
  const b = base === undefined ? "" : ` with base '${base}'`;
  return new TypeError(`Failed to construct 'URL': Invalid URL '${url}'${b}`);
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

const USP = "URLSearchParams";

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
    webidlBrandCheck(this, _list, USP);
    if (arguments.length < 1) throw missingArgs(arguments.length, 1, "get", USP);
    name = toUSVString(name);
    const list = this[_list];
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] === name) return list[i + 1];
    }
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
  const url = params[_urlObject];
  if (url === null) return;
  url[_url] = ops.op_url_set(url[_url][HREF], "search", serializeUrlencoded(params[_list])).split(SEP);
}

function newURLSearchParams(list, url) {
  const p = Object.create(URLSearchParams.prototype);
  p[_list] = list;
  p[_urlObject] = url;
  return p;
}

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
  const it = Object.create(URLSearchParamsIteratorPrototype);
  it[_target] = target;
  it[_kind] = kind;
  it[_index] = 0;
  return it;
}

// setURL runs a URL setter: the basic URL parser with a state override.
// https://url.spec.whatwg.org/#urlutils-members
function setURL(url, setter, value) {
  url[_url] = ops.op_url_set(url[_url][HREF], setter, toUSVString(value)).split(SEP);
}

function newURL(parts) {
  const u = Object.create(URL.prototype);
  u[_url] = parts;
  u[_query] = null;
  return u;
}

class URL {
  // https://url.spec.whatwg.org/#dom-url-url
  constructor(url, base = undefined) {
    if (arguments.length < 1) throw missingArgs(arguments.length, 1, null, "URL");
    url = toUSVString(url);
    if (base !== undefined) base = toUSVString(base);
    const parts = parseURL(url, base);
    if (parts === null) throw invalidURL(url, base);
    this[_url] = parts;
    this[_query] = null;
  }

  // https://url.spec.whatwg.org/#dom-url-parse
  static parse(url, base = undefined) {
    if (arguments.length < 1) throw missingArgs(arguments.length, 1, "parse", "URL");
    url = toUSVString(url);
    if (base !== undefined) base = toUSVString(base);
    const parts = parseURL(url, base);
    return parts === null ? null : newURL(parts);
  }

  // https://url.spec.whatwg.org/#dom-url-canparse
  static canParse(url, base = undefined) {
    if (arguments.length < 1) throw missingArgs(arguments.length, 1, "canParse", "URL");
    url = toUSVString(url);
    if (base !== undefined) base = toUSVString(base);
    return parseURL(url, base) !== null;
  }

  // https://url.spec.whatwg.org/#dom-url-href
  get href() {
    webidlBrandCheck(this, _url, "URL");
    return this[_url][HREF];
  }

  set href(value) {
    webidlBrandCheck(this, _url, "URL");
    value = toUSVString(value);
    const parts = parseURL(value, undefined);
    if (parts === null) throw new TypeError(`Failed to set the 'href' property on 'URL': Invalid URL '${value}'`);
    this[_url] = parts;
    const q = this[_query];
    if (q !== null) q[_list] = parseUrlencodedList(parts[SEARCH].slice(1));
  }

  // https://url.spec.whatwg.org/#dom-url-origin
  get origin() {
    webidlBrandCheck(this, _url, "URL");
    return serializeOrigin(this[_url]);
  }

  get protocol() {
    webidlBrandCheck(this, _url, "URL");
    return this[_url][PROTOCOL];
  }

  set protocol(value) {
    webidlBrandCheck(this, _url, "URL");
    setURL(this, "protocol", value);
  }

  get username() {
    webidlBrandCheck(this, _url, "URL");
    return this[_url][USERNAME];
  }

  set username(value) {
    webidlBrandCheck(this, _url, "URL");
    setURL(this, "username", value);
  }

  get password() {
    webidlBrandCheck(this, _url, "URL");
    return this[_url][PASSWORD];
  }

  set password(value) {
    webidlBrandCheck(this, _url, "URL");
    setURL(this, "password", value);
  }

  get host() {
    webidlBrandCheck(this, _url, "URL");
    return this[_url][HOST];
  }

  set host(value) {
    webidlBrandCheck(this, _url, "URL");
    setURL(this, "host", value);
  }

  get hostname() {
    webidlBrandCheck(this, _url, "URL");
    return this[_url][HOSTNAME];
  }

  set hostname(value) {
    webidlBrandCheck(this, _url, "URL");
    setURL(this, "hostname", value);
  }

  get port() {
    webidlBrandCheck(this, _url, "URL");
    return this[_url][PORT];
  }

  set port(value) {
    webidlBrandCheck(this, _url, "URL");
    setURL(this, "port", value);
  }

  get pathname() {
    webidlBrandCheck(this, _url, "URL");
    return this[_url][PATHNAME];
  }

  set pathname(value) {
    webidlBrandCheck(this, _url, "URL");
    setURL(this, "pathname", value);
  }

  get search() {
    webidlBrandCheck(this, _url, "URL");
    return this[_url][SEARCH];
  }

  // https://url.spec.whatwg.org/#dom-url-search
  set search(value) {
    webidlBrandCheck(this, _url, "URL");
    value = toUSVString(value);
    setURL(this, "search", value);
    const q = this[_query];
    if (q !== null) q[_list] = parseUrlencodedList(value.charCodeAt(0) === 0x3f ? value.slice(1) : value);
  }

  // https://url.spec.whatwg.org/#dom-url-searchparams: made on first use and
  // the same object afterwards.
  get searchParams() {
    webidlBrandCheck(this, _url, "URL");
    let q = this[_query];
    if (q === null) {
      q = newURLSearchParams(parseUrlencodedList(this[_url][SEARCH].slice(1)), this);
      this[_query] = q;
    }
    return q;
  }

  get hash() {
    webidlBrandCheck(this, _url, "URL");
    return this[_url][HASH];
  }

  set hash(value) {
    webidlBrandCheck(this, _url, "URL");
    setURL(this, "hash", value);
  }

  toString() {
    webidlBrandCheck(this, _url, "URL");
    return this[_url][HREF];
  }

  toJSON() {
    webidlBrandCheck(this, _url, "URL");
    return this[_url][HREF];
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
  const protocol = parts[PROTOCOL];
  if (tupleOriginProtocols.has(protocol)) return protocol + "//" + parts[HOST];
  if (protocol === "blob:") {
    const path = parseURL(parts[PATHNAME], undefined);
    if (path !== null && (path[PROTOCOL] === "http:" || path[PROTOCOL] === "https:")) {
      return path[PROTOCOL] + "//" + path[HOST];
    }
  }
  return "null";
}

// urlHref parses input against base (strings or undefined) and returns the
// href, or null on failure: for layers (fetch) that need only a parse.
function urlHref(input, base) {
  const parts = parseURL(toUSVString(input), base === undefined ? undefined : toUSVString(base));
  return parts === null ? null : parts[HREF];
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

return { URL, URLSearchParams, urlHref, isURLSearchParams, parseUrlencoded };
