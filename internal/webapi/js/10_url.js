// URL and URLSearchParams: https://url.spec.whatwg.org/#api
//
// The URL parser runs in Go (op_url_parse, op_url_set in url_ops.go): one op
// call per parse or setter, returning every component at once joined by
// U+0000, which no serialized URL contains. A URL keeps that component array
// as its inner record; getters only index it. The
// application/x-www-form-urlencoded parser and serializer behind
// URLSearchParams are plain string work and stay here.

const { ObjectDefineProperty, webidlBrandCheck } = k;

const SEP = "\0";
// Indexes into a URL's component array (the order urlComponents in Go writes).
const HREF = 0, PROTOCOL = 1, USERNAME = 2, PASSWORD = 3, HOST = 4,
  HOSTNAME = 5, PORT = 6, PATHNAME = 7, SEARCH = 8, HASH = 9;

// Module-private state.
const _url = Symbol("url"); // URL: component array
const _query = Symbol("query"); // URL: its URLSearchParams, made on first use
const _list = Symbol("list"); // URLSearchParams: [name, value] pairs
const _urlObject = Symbol("urlObject"); // URLSearchParams: owning URL or null

const StringToWellFormed = String.prototype.toWellFormed;
const ArrayIteratorPrototype = Object.getPrototypeOf([][Symbol.iterator]());
const IteratorPrototype = Object.getPrototypeOf(ArrayIteratorPrototype);

// https://webidl.spec.whatwg.org/#es-DOMString (throws on Symbols, unlike String()).
function toDOMString(v) {
  return typeof v === "string" ? v : `${v}`;
}

// https://webidl.spec.whatwg.org/#es-USVString: lone surrogates become U+FFFD.
function toUSVString(v) {
  return StringToWellFormed.call(typeof v === "string" ? v : `${v}`);
}

function requireArgs(n, required, method, iface) {
  if (n < required) {
    const what = method === null ? `construct '${iface}'` : `execute '${method}' on '${iface}'`;
    throw new TypeError(`Failed to ${what}: ${required} argument${required > 1 ? "s" : ""} required, but only ${n} present.`);
  }
}

// parseURL returns the component array of input parsed against base (a
// string or undefined), or null on failure.
// https://url.spec.whatwg.org/#api-url-parser
function parseURL(input, base) {
  const r = base === undefined ? ops.op_url_parse(input) : ops.op_url_parse(input, base);
  return r === null ? null : r.split(SEP);
}

function invalidURL(url, base) {
  const b = base === undefined ? "" : ` with base '${base}'`;
  return new TypeError(`Failed to construct 'URL': Invalid URL '${url}'${b}`);
}

// https://url.spec.whatwg.org/#concept-urlencoded-parser
function parseUrlencoded(input) {
  const list = [];
  if (input === "") return list;
  for (const seq of input.split("&")) {
    if (seq === "") continue;
    const eq = seq.indexOf("=");
    const name = eq === -1 ? seq : seq.slice(0, eq);
    const value = eq === -1 ? "" : seq.slice(eq + 1);
    list.push([decodeFormComponent(name), decodeFormComponent(value)]);
  }
  return list;
}

// decodeFormComponent replaces + with space, then percent-decodes and decodes
// the bytes as UTF-8 with replacement (https://url.spec.whatwg.org/#percent-decode).
function decodeFormComponent(s) {
  if (s.indexOf("+") !== -1) s = s.replaceAll("+", " ");
  if (s.indexOf("%") === -1) return s;
  try {
    // Fast path; it throws on a bare % and on bytes that are not UTF-8.
    return decodeURIComponent(s);
  } catch {
    return percentDecodeSlow(s);
  }
}

function isHex(c) {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

// percentDecodeSlow decodes each run of %XX escapes as UTF-8 on its own and
// keeps other code points. This equals UTF-8 encoding the whole string,
// percent-decoding and decoding: literal code points encode to complete
// UTF-8 sequences, which the decoder never joins with stray bytes.
function percentDecodeSlow(s) {
  let out = "";
  let i = 0;
  const n = s.length;
  while (i < n) {
    const start = i;
    while (i < n && !(s.charCodeAt(i) === 0x25 && i + 2 < n && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2)))) i++;
    out += s.slice(start, i);
    if (i >= n) break;
    const bytes = [];
    while (i + 2 < n && s.charCodeAt(i) === 0x25 && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 3;
    }
    out += utf8Decode(bytes);
  }
  return out;
}

// utf8Decode is the Encoding Standard's UTF-8 decoder with replacement.
// https://encoding.spec.whatwg.org/#utf-8-decoder
function utf8Decode(bytes) {
  let out = "";
  let cp = 0, needed = 0, seen = 0, lower = 0x80, upper = 0xbf;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (needed === 0) {
      if (b <= 0x7f) out += String.fromCharCode(b);
      else if (b >= 0xc2 && b <= 0xdf) { needed = 1; cp = b & 0x1f; }
      else if (b >= 0xe0 && b <= 0xef) {
        if (b === 0xe0) lower = 0xa0;
        if (b === 0xed) upper = 0x9f;
        needed = 2; cp = b & 0xf;
      } else if (b >= 0xf0 && b <= 0xf4) {
        if (b === 0xf0) lower = 0x90;
        if (b === 0xf4) upper = 0x8f;
        needed = 3; cp = b & 0x7;
      } else out += "\uFFFD";
      continue;
    }
    if (b < lower || b > upper) {
      cp = needed = seen = 0; lower = 0x80; upper = 0xbf;
      out += "\uFFFD";
      i--; // reprocess the byte
      continue;
    }
    lower = 0x80; upper = 0xbf;
    cp = (cp << 6) | (b & 0x3f);
    if (++seen === needed) {
      out += String.fromCodePoint(cp);
      cp = needed = seen = 0;
    }
  }
  if (needed !== 0) out += "\uFFFD";
  return out;
}

const formEscapes = { "!": "%21", "'": "%27", "(": "%28", ")": "%29", "~": "%7E", "%20": "+" };
const formEscapeRe = /[!'()~]|%20/g;
const formSafeRe = /^[A-Za-z0-9*\-._]*$/;

// encodeFormComponent percent-encodes s with the
// application/x-www-form-urlencoded percent-encode set, space as +.
// encodeURIComponent leaves exactly that set's complement plus !'()~ alone.
function encodeFormComponent(s) {
  if (formSafeRe.test(s)) return s;
  return encodeURIComponent(s).replace(formEscapeRe, (m) => formEscapes[m]);
}

// https://url.spec.whatwg.org/#concept-urlencoded-serializer
function serializeUrlencoded(list) {
  let out = "";
  for (let i = 0; i < list.length; i++) {
    if (i > 0) out += "&";
    out += encodeFormComponent(list[i][0]) + "=" + encodeFormComponent(list[i][1]);
  }
  return out;
}

// Makes the getters, setters and methods of a WebIDL interface prototype
// enumerable, as WebIDL defines them, and sets its toStringTag.
function webidlInterface(cls, name) {
  const proto = cls.prototype;
  for (const key of Object.getOwnPropertyNames(proto)) {
    if (key === "constructor") continue;
    const desc = Object.getOwnPropertyDescriptor(proto, key);
    desc.enumerable = true;
    ObjectDefineProperty(proto, key, desc);
  }
  ObjectDefineProperty(proto, Symbol.toStringTag, { value: name, configurable: true });
}

class URLSearchParams {
  // https://url.spec.whatwg.org/#dom-urlsearchparams-urlsearchparams
  constructor(init = "") {
    this[_urlObject] = null;
    if (init !== null && (typeof init === "object" || typeof init === "function")) {
      const iter = init[Symbol.iterator];
      if (iter !== undefined && iter !== null) {
        if (typeof iter !== "function") {
          throw new TypeError("Failed to construct 'URLSearchParams': The object's @@iterator is not callable.");
        }
        const list = [];
        for (const pair of init) {
          if (pair === null || (typeof pair !== "object" && typeof pair !== "function") || typeof pair[Symbol.iterator] !== "function") {
            throw new TypeError("Failed to construct 'URLSearchParams': The provided value cannot be converted to a sequence.");
          }
          const p = Array.from(pair, toUSVString);
          if (p.length !== 2) {
            throw new TypeError("Failed to construct 'URLSearchParams': Sequence initializer must only contain pair elements");
          }
          list.push(p);
        }
        this[_list] = list;
      } else {
        // record<USVString, USVString>
        const list = [];
        const seen = new Map(); // name → index: keys made equal by USV conversion collapse
        for (const key of Reflect.ownKeys(init)) {
          const desc = Reflect.getOwnPropertyDescriptor(init, key);
          if (desc === undefined || !desc.enumerable) continue;
          const name = toUSVString(key);
          const value = toUSVString(init[key]);
          const at = seen.get(name);
          if (at === undefined) {
            seen.set(name, list.length);
            list.push([name, value]);
          } else {
            list[at][1] = value;
          }
        }
        this[_list] = list;
      }
    } else {
      let s = toUSVString(init);
      if (s.charCodeAt(0) === 0x3f) s = s.slice(1);
      this[_list] = parseUrlencoded(s);
    }
  }

  get size() {
    webidlBrandCheck(this, _list, "URLSearchParams");
    return this[_list].length;
  }

  append(name, value) {
    webidlBrandCheck(this, _list, "URLSearchParams");
    requireArgs(arguments.length, 2, "append", "URLSearchParams");
    this[_list].push([toUSVString(name), toUSVString(value)]);
    updateURLSearchParams(this);
  }

  delete(name, value = undefined) {
    webidlBrandCheck(this, _list, "URLSearchParams");
    requireArgs(arguments.length, 1, "delete", "URLSearchParams");
    name = toUSVString(name);
    const list = this[_list];
    let out;
    if (value === undefined) {
      out = list.filter((p) => p[0] !== name);
    } else {
      value = toUSVString(value);
      out = list.filter((p) => p[0] !== name || p[1] !== value);
    }
    this[_list] = out;
    updateURLSearchParams(this);
  }

  get(name) {
    webidlBrandCheck(this, _list, "URLSearchParams");
    requireArgs(arguments.length, 1, "get", "URLSearchParams");
    name = toUSVString(name);
    const list = this[_list];
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] === name) return list[i][1];
    }
    return null;
  }

  getAll(name) {
    webidlBrandCheck(this, _list, "URLSearchParams");
    requireArgs(arguments.length, 1, "getAll", "URLSearchParams");
    name = toUSVString(name);
    const out = [];
    const list = this[_list];
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] === name) out.push(list[i][1]);
    }
    return out;
  }

  has(name, value = undefined) {
    webidlBrandCheck(this, _list, "URLSearchParams");
    requireArgs(arguments.length, 1, "has", "URLSearchParams");
    name = toUSVString(name);
    if (value !== undefined) value = toUSVString(value);
    const list = this[_list];
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] === name && (value === undefined || list[i][1] === value)) return true;
    }
    return false;
  }

  // https://url.spec.whatwg.org/#dom-urlsearchparams-set
  set(name, value) {
    webidlBrandCheck(this, _list, "URLSearchParams");
    requireArgs(arguments.length, 2, "set", "URLSearchParams");
    name = toUSVString(name);
    value = toUSVString(value);
    const list = this[_list];
    const at = list.findIndex((p) => p[0] === name);
    if (at === -1) {
      list.push([name, value]);
    } else {
      list[at] = [name, value];
      this[_list] = list.filter((p, i) => i <= at || p[0] !== name);
    }
    updateURLSearchParams(this);
  }

  // https://url.spec.whatwg.org/#dom-urlsearchparams-sort: stable, by UTF-16
  // code units (Array.prototype.sort is stable; < compares code units).
  sort() {
    webidlBrandCheck(this, _list, "URLSearchParams");
    this[_list].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    updateURLSearchParams(this);
  }

  forEach(callback, thisArg = undefined) {
    webidlBrandCheck(this, _list, "URLSearchParams");
    requireArgs(arguments.length, 1, "forEach", "URLSearchParams");
    if (typeof callback !== "function") {
      throw new TypeError("Failed to execute 'forEach' on 'URLSearchParams': parameter 1 is not of type 'Function'.");
    }
    // The list is re-read each step: callbacks may change it.
    for (let i = 0; i < this[_list].length; i++) {
      const [name, value] = this[_list][i];
      callback.call(thisArg, value, name, this);
    }
  }

  entries() {
    webidlBrandCheck(this, _list, "URLSearchParams");
    return new URLSearchParamsIterator(this, "key+value");
  }

  keys() {
    webidlBrandCheck(this, _list, "URLSearchParams");
    return new URLSearchParamsIterator(this, "key");
  }

  values() {
    webidlBrandCheck(this, _list, "URLSearchParams");
    return new URLSearchParamsIterator(this, "value");
  }

  toString() {
    webidlBrandCheck(this, _list, "URLSearchParams");
    return serializeUrlencoded(this[_list]);
  }
}
webidlInterface(URLSearchParams, "URLSearchParams");
ObjectDefineProperty(URLSearchParams.prototype, Symbol.iterator, {
  value: URLSearchParams.prototype.entries, writable: true, configurable: true,
});

// https://url.spec.whatwg.org/#concept-urlsearchparams-update
function updateURLSearchParams(params) {
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
const _target = Symbol("target"), _kind = Symbol("kind"), _index = Symbol("index");
const URLSearchParamsIteratorPrototype = Object.create(IteratorPrototype, {
  next: {
    value: function next() {
      webidlBrandCheck(this, _target, "URLSearchParams Iterator");
      const list = this[_target][_list];
      const i = this[_index];
      if (i >= list.length) return { value: undefined, done: true };
      this[_index] = i + 1;
      const [name, value] = list[i];
      const kind = this[_kind];
      return { value: kind === "key" ? name : kind === "value" ? value : [name, value], done: false };
    },
    writable: true, enumerable: true, configurable: true,
  },
  [Symbol.toStringTag]: { value: "URLSearchParams Iterator", configurable: true },
});

function URLSearchParamsIterator(target, kind) {
  const it = Object.create(URLSearchParamsIteratorPrototype);
  it[_target] = target;
  it[_kind] = kind;
  it[_index] = 0;
  return it;
}

// setURL runs a URL setter: the basic URL parser with a state override.
// https://url.spec.whatwg.org/#urlutils-members
function setURL(url, setter, value) {
  url[_url] = ops.op_url_set(url[_url][HREF], setter, toDOMString(value)).split(SEP);
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
    requireArgs(arguments.length, 1, null, "URL");
    url = toDOMString(url);
    if (base !== undefined) base = toDOMString(base);
    const parts = parseURL(url, base);
    if (parts === null) throw invalidURL(url, base);
    this[_url] = parts;
    this[_query] = null;
  }

  // https://url.spec.whatwg.org/#dom-url-parse
  static parse(url, base = undefined) {
    requireArgs(arguments.length, 1, "parse", "URL");
    url = toDOMString(url);
    if (base !== undefined) base = toDOMString(base);
    const parts = parseURL(url, base);
    return parts === null ? null : newURL(parts);
  }

  // https://url.spec.whatwg.org/#dom-url-canparse
  static canParse(url, base = undefined) {
    requireArgs(arguments.length, 1, "canParse", "URL");
    url = toDOMString(url);
    if (base !== undefined) base = toDOMString(base);
    return (base === undefined ? ops.op_url_parse(url) : ops.op_url_parse(url, base)) !== null;
  }

  // https://url.spec.whatwg.org/#dom-url-href
  get href() {
    webidlBrandCheck(this, _url, "URL");
    return this[_url][HREF];
  }

  set href(value) {
    webidlBrandCheck(this, _url, "URL");
    value = toDOMString(value);
    const parts = parseURL(value, undefined);
    if (parts === null) throw new TypeError(`Failed to set the 'href' property on 'URL': Invalid URL '${value}'`);
    this[_url] = parts;
    const q = this[_query];
    if (q !== null) q[_list] = parseUrlencoded(parts[SEARCH].slice(1));
  }

  // https://html.spec.whatwg.org/multipage/browsers.html#ascii-serialisation-of-an-origin
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
    if (q !== null) q[_list] = parseUrlencoded(value.charCodeAt(0) === 0x3f ? value.slice(1) : value);
  }

  // https://url.spec.whatwg.org/#dom-url-searchparams: made on first use and
  // the same object afterwards.
  get searchParams() {
    webidlBrandCheck(this, _url, "URL");
    let q = this[_query];
    if (q === null) {
      q = newURLSearchParams(parseUrlencoded(this[_url][SEARCH].slice(1)), this);
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

const specialOrigins = { "ftp:": true, "http:": true, "https:": true, "ws:": true, "wss:": true };

// https://url.spec.whatwg.org/#concept-url-origin, serialized. Opaque
// origins serialize as "null".
function serializeOrigin(parts) {
  const protocol = parts[PROTOCOL];
  if (specialOrigins[protocol] === true) return protocol + "//" + parts[HOST];
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
  const parts = parseURL(input, base);
  return parts === null ? null : parts[HREF];
}

// isURLSearchParams tells a real URLSearchParams (fetch's body extraction).
function isURLSearchParams(v) {
  return v !== null && typeof v === "object" && _list in v;
}

return { URL, URLSearchParams, urlHref, isURLSearchParams, serializeUrlencoded, parseUrlencoded };
