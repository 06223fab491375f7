// Request: https://fetch.spec.whatwg.org/#request-class
//
// InnerRequest is the spec's request; class Request is its public face.
// A request the runtime dispatches keeps its headers as the "name:value\n"
// text it arrived in until script reads them, and its URL as a string.

const _inner = k.internalSymbol("request");
const _headers = k.internalSymbol("headers");
const _signal = k.internalSymbol("signal");

class InnerRequest {
  constructor(method, url, headerList, headersFlat, body) {
    this.method = method;
    this.url = url; // serialized URL
    this.list = headerList; // array of [name, value], or null until parsed
    this.flat = headersFlat; // "name:value\n" lines while list is null
    this.body = body; // InnerBody | null
    this.redirect = "follow";
    this.signal = null; // AbortSignal | null
    this.keepalive = false;
  }

  get headerList() {
    if (this.list === null) {
      this.list = k.parseHeaderList(this.flat);
      this.flat = null;
    }
    return this.list;
  }

  headersFlat() {
    return this.list === null ? this.flat : k.serializeHeaderList(this.list);
  }
}

// https://fetch.spec.whatwg.org/#concept-method
const tokenRe = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const normalizedMethods = { DELETE: 1, GET: 1, HEAD: 1, OPTIONS: 1, POST: 1, PUT: 1 };

// https://fetch.spec.whatwg.org/#concept-method-normalize
function normalizeMethod(m) {
  const upper = m.toUpperCase();
  return normalizedMethods[upper] === 1 ? upper : m;
}

function checkMethod(m, prefix) {
  if (!tokenRe.test(m)) throw new TypeError(`${prefix}: '${m}' is not a valid HTTP method.`);
  const upper = m.toUpperCase();
  if (upper === "CONNECT" || upper === "TRACE" || upper === "TRACK") {
    throw new TypeError(`${prefix}: '${m}' HTTP method is unsupported.`);
  }
  return normalizeMethod(m);
}

function parseURL(input, prefix) {
  let href = null;
  if (k.urlHref !== undefined) {
    href = k.urlHref(input);
  } else {
    try {
      href = new k.URL(input).href;
    } catch {
      href = null;
    }
  }
  if (href === null) throw new TypeError(`${prefix}: Invalid URL "${input}".`);
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*@/.test(href)) {
    throw new TypeError(`${prefix}: Request cannot be constructed from a URL that includes credentials: "${input}".`);
  }
  return href;
}

const redirectModes = ["follow", "error", "manual"];

function isAbortSignal(v) {
  return k.AbortSignal !== undefined && v instanceof k.AbortSignal;
}

// A signal that follows signal, as the spec's "create a dependent abort
// signal" does.
function dependentSignal(signal) {
  if (signal === null) return null;
  return k.AbortSignal !== undefined && typeof k.AbortSignal.any === "function" ? k.AbortSignal.any([signal]) : signal;
}

class Request {
  // https://fetch.spec.whatwg.org/#dom-request
  constructor(input, init = undefined) {
    const prefix = "Failed to construct 'Request'";
    k.requiredArguments(arguments.length, 1, prefix);
    init = k.toDictionary(init, prefix, "Argument 2");
    let request;
    let signal = null;
    let inputInner = null;
    if (input instanceof Request) {
      inputInner = input[_inner];
      request = new InnerRequest(inputInner.method, inputInner.url, null, null, null);
      request.redirect = inputInner.redirect;
      request.keepalive = inputInner.keepalive;
      signal = inputInner.signal ?? input.signal;
    } else {
      const url = parseURL(k.toUSVString(input, prefix, "input"), prefix);
      request = new InnerRequest("GET", url, null, null, null);
    }

    if (init.window !== undefined && init.window !== null) {
      throw new TypeError(`${prefix}: 'window' can only be null.`);
    }
    if (init.keepalive !== undefined) request.keepalive = !!init.keepalive;
    if (init.method !== undefined) {
      request.method = checkMethod(k.toByteString(init.method, prefix, "method"), prefix);
    }
    if (init.signal !== undefined) {
      if (init.signal !== null && !isAbortSignal(init.signal)) {
        throw new TypeError(`${prefix}: member signal is not of type AbortSignal.`);
      }
      signal = init.signal;
    }
    if (init.redirect !== undefined) {
      request.redirect = k.enumValue(init.redirect, redirectModes, prefix, "redirect", "RequestRedirect");
    }
    this[_inner] = request;
    this[_headers] = null;
    this[_signal] = dependentSignal(signal);
    request.signal = this[_signal];

    // https://fetch.spec.whatwg.org/#dom-request step 32-33: the headers.
    if (init.headers !== undefined) {
      request.list = [];
      const h = k.headersFromList(request.list, "request");
      k.fillHeaders(h, init.headers, prefix);
    } else {
      request.list = inputInner === null ? [] : inputInner.headerList.slice();
    }

    const inputBody = inputInner === null ? null : inputInner.body;
    const hasInitBody = init.body !== undefined && init.body !== null;
    if ((hasInitBody || inputBody !== null) && (request.method === "GET" || request.method === "HEAD")) {
      throw new TypeError(`${prefix}: Request with GET/HEAD method cannot have body.`);
    }
    let body = null;
    if (hasInitBody) {
      const [b, type] = k.extractBody(init.body, prefix);
      body = b;
      if (type !== null && !k.listHas(request.list, "content-type")) request.list.push(["content-type", type]);
    } else if (inputBody !== null) {
      if (inputBody.unusable) {
        throw new TypeError(`${prefix}: Cannot construct a Request with a Request object that has already been used.`);
      }
      body = inputBody.transfer();
    }
    request.body = body;
  }

  get method() {
    k.webidlBrandCheck(this, _inner, "Request");
    return this[_inner].method;
  }

  get url() {
    k.webidlBrandCheck(this, _inner, "Request");
    return this[_inner].url;
  }

  get headers() {
    k.webidlBrandCheck(this, _inner, "Request");
    return (this[_headers] ??= k.headersFromList(this[_inner].headerList, "request"));
  }

  get destination() {
    k.webidlBrandCheck(this, _inner, "Request");
    return "";
  }

  get referrer() {
    k.webidlBrandCheck(this, _inner, "Request");
    return "about:client";
  }

  get referrerPolicy() {
    k.webidlBrandCheck(this, _inner, "Request");
    return "";
  }

  get mode() {
    k.webidlBrandCheck(this, _inner, "Request");
    return "cors";
  }

  get credentials() {
    k.webidlBrandCheck(this, _inner, "Request");
    return "same-origin";
  }

  get cache() {
    k.webidlBrandCheck(this, _inner, "Request");
    return "default";
  }

  get redirect() {
    k.webidlBrandCheck(this, _inner, "Request");
    return this[_inner].redirect;
  }

  get integrity() {
    k.webidlBrandCheck(this, _inner, "Request");
    return "";
  }

  get keepalive() {
    k.webidlBrandCheck(this, _inner, "Request");
    return this[_inner].keepalive;
  }

  get isReloadNavigation() {
    k.webidlBrandCheck(this, _inner, "Request");
    return false;
  }

  get isHistoryNavigation() {
    k.webidlBrandCheck(this, _inner, "Request");
    return false;
  }

  // A dispatched request gets its (never aborted) signal on first use.
  get signal() {
    k.webidlBrandCheck(this, _inner, "Request");
    if (this[_signal] === null) {
      this[_signal] = new k.AbortController().signal;
      this[_inner].signal = this[_signal];
    }
    return this[_signal];
  }

  get duplex() {
    k.webidlBrandCheck(this, _inner, "Request");
    return "half";
  }

  // https://fetch.spec.whatwg.org/#dom-request-clone
  clone() {
    k.webidlBrandCheck(this, _inner, "Request");
    const inner = this[_inner];
    if (inner.body !== null && inner.body.unusable) {
      throw new TypeError("Failed to execute 'clone' on 'Request': Request body is already used.");
    }
    const c = new InnerRequest(inner.method, inner.url, inner.list === null ? null : inner.list.slice(), inner.flat, null);
    c.redirect = inner.redirect;
    c.keepalive = inner.keepalive;
    if (inner.body !== null) c.body = inner.body.clone();
    c.signal = dependentSignal(inner.signal);
    return requestFromInner(c);
  }

  [k.customInspect](inspect, options) {
    return `Request ${inspect({
      method: this.method,
      url: this.url,
      headers: this.headers,
      bodyUsed: this.bodyUsed,
      redirect: this.redirect,
    }, options)}`;
  }
}
k.mixinBody(Request, _inner, "Request");
k.configureInterface(Request);

function requestFromInner(inner) {
  const r = Object.create(Request.prototype);
  r[_inner] = inner;
  r[_headers] = null;
  r[_signal] = inner.signal;
  return r;
}

// newDispatchRequest makes the Request of one invocation: headers stay
// text until read, the body reads from resource bodyRid (-1: none).
function newDispatchRequest(method, url, headersFlat, bodyRid) {
  return requestFromInner(new InnerRequest(method, url, null, headersFlat, bodyRid >= 0 ? k.resourceBody(bodyRid) : null));
}

function requestInner(r) {
  return r[_inner];
}

return { Request, newDispatchRequest, requestInner };
