// Request: https://fetch.spec.whatwg.org/#request-class
//
// InnerRequest is the spec's request; class Request is its public face.
// The header list is text (20_headers.js), the URL a string, and a Request
// gets its Headers object and (for a dispatched request) its AbortSignal
// only when script asks for them.

const _inner = k.internalSymbol("request");
const _headers = k.internalSymbol("headers");

// Captured once: every request uses them.
const { resourceBody, requestHref } = k;

// https://fetch.spec.whatwg.org/#concept-request: a literal (cheaper here
// than a constructor call) whose prototype holds the fields most requests
// leave at their defaults (each property a record gets costs here).
const innerRequestDefaults = {
  redirect: "follow",
  signal: null, // AbortSignal | null
  keepalive: false,
};

// url is the serialized URL, headerText the header list (20_headers.js),
// body an InnerBody or null.
function newInnerRequest(method, url, headerText, body) {
  return { __proto__: innerRequestDefaults, method, url, headerText, body };
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

// parseURL parses the input of new Request(input): a string, converted to
// a USVString for messages only (the parse treats lone surrogates alike).
function parseURL(input, prefix) {
  const href = requestHref(input);
  if (typeof href === "string") return href;
  input = k.toUSVString(input, prefix, "input");
  if (href === null) throw new TypeError(`${prefix}: Invalid URL "${input}".`);
  throw new TypeError(`${prefix}: Request cannot be constructed from a URL that includes credentials: "${input}".`);
}

const redirectModes = ["follow", "error", "manual"];

// The body of new Request(input) taken from input's.
function transferBody(request, inputBody, prefix) {
  if (request.method === "GET" || request.method === "HEAD") {
    throw new TypeError(`${prefix}: Request with GET/HEAD method cannot have body.`);
  }
  if (inputBody.unusable) {
    throw new TypeError(`${prefix}: Cannot construct a Request with a Request object that has already been used.`);
  }
  return inputBody.transfer();
}

// 03_abort.js is lazy: with it not loaded, no AbortSignal exists.
function isAbortSignal(v) {
  const AbortSignal = k.ifLoaded("AbortSignal");
  return AbortSignal !== undefined && v instanceof AbortSignal;
}

// A signal that follows signal, as the spec's "create a dependent abort
// signal" does.
function dependentSignal(signal) {
  if (signal === null) return null;
  return k.AbortSignal.any([signal]);
}

class Request {
  // https://fetch.spec.whatwg.org/#dom-request
  constructor(input, init = undefined) {
    const prefix = "Failed to construct 'Request'";
    if (arguments.length < 1) k.requiredArguments(arguments.length, 1, prefix);
    const hasInit = init !== undefined && init !== null;
    if (hasInit) init = k.toDictionary(init, prefix, "Argument 2");
    let request;
    let signal = null;
    let inputInner = null;
    if (input instanceof Request) {
      inputInner = input[_inner];
      request = newInnerRequest(inputInner.method, inputInner.url, inputInner.headerText, null);
      request.redirect = inputInner.redirect;
      request.keepalive = inputInner.keepalive;
      signal = inputInner.signal ?? input.signal;
    } else {
      const url = parseURL(typeof input === "string" ? input : k.toUSVString(input, prefix, "input"), prefix);
      request = { __proto__: innerRequestDefaults, method: "GET", url, headerText: "", body: null };
    }
    this[_inner] = request;
    // An absent init is an empty dictionary: nothing to read.
    if (!hasInit) {
      if (signal !== null) request.signal = dependentSignal(signal);
      const inputBody = inputInner === null ? null : inputInner.body;
      if (inputBody !== null) request.body = transferBody(request, inputBody, prefix);
      return;
    }
    const window = init.window;
    if (window !== undefined && window !== null) {
      throw new TypeError(`${prefix}: 'window' can only be null.`);
    }
    const keepalive = init.keepalive;
    if (keepalive !== undefined) request.keepalive = !!keepalive;
    const method = init.method;
    if (method !== undefined) {
      request.method = checkMethod(k.toByteString(method, prefix, "method"), prefix);
    }
    const initSignal = init.signal;
    if (initSignal !== undefined) {
      if (initSignal !== null && !isAbortSignal(initSignal)) {
        throw new TypeError(`${prefix}: member signal is not of type AbortSignal.`);
      }
      signal = initSignal;
    }
    const redirect = init.redirect;
    if (redirect !== undefined) {
      request.redirect = k.enumValue(redirect, redirectModes, prefix, "redirect", "RequestRedirect");
    }
    if (signal !== null) request.signal = dependentSignal(signal);

    // https://fetch.spec.whatwg.org/#dom-request step 32-33: the headers.
    const headers = init.headers;
    if (headers !== undefined) request.headerText = k.fillHeaderText("", headers, prefix);

    const inputBody = inputInner === null ? null : inputInner.body;
    const initBody = init.body;
    const hasInitBody = initBody !== undefined && initBody !== null;
    if (hasInitBody) {
      if (request.method === "GET" || request.method === "HEAD") {
        throw new TypeError(`${prefix}: Request with GET/HEAD method cannot have body.`);
      }
      const extracted = k.extractBody(initBody, prefix);
      request.body = extracted[0];
      request.headerText += k.contentTypeLine(request.headerText, extracted[1]);
    } else if (inputBody !== null) {
      request.body = transferBody(request, inputBody, prefix);
    }
  }

  get method() {
    k.webidlBrandCheck(this, _inner, "Request");
    return this[_inner].method;
  }

  get url() {
    k.webidlBrandCheck(this, _inner, "Request");
    return this[_inner].url;
  }

  // The Headers object is made on first use.
  get headers() {
    k.webidlBrandCheck(this, _inner, "Request");
    return (this[_headers] ??= k.headersFromHolder(this[_inner], "request"));
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
    const inner = this[_inner];
    if (inner.signal === null) inner.signal = new k.AbortController().signal;
    return inner.signal;
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
    const c = newInnerRequest(inner.method, inner.url, inner.headerText, null);
    c.redirect = inner.redirect;
    c.keepalive = inner.keepalive;
    if (inner.body !== null) c.body = inner.body.clone();
    const signal = dependentSignal(inner.signal);
    if (signal !== null) c.signal = signal;
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

const RequestPrototype = Request.prototype;

function requestFromInner(inner) {
  return { __proto__: RequestPrototype, [_inner]: inner };
}

// newDispatchRequest makes the Request of one invocation from the header
// text Go sent; the body reads from resource bodyRid (-1: none).
function newDispatchRequest(method, url, headersFlat, bodyRid) {
  return { __proto__: RequestPrototype, [_inner]: newInnerRequest(method, url, headersFlat, bodyRid >= 0 ? resourceBody(bodyRid) : null) };
}

function requestInner(r) {
  return r[_inner];
}

return { Request, newDispatchRequest, requestInner };
