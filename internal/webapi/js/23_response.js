// Response: https://fetch.spec.whatwg.org/#response-class
//
// InnerResponse is the spec's response; class Response is its public face.
// The header list is text (20_headers.js) and a Response gets a Headers
// object only when script reads .headers, so `new Response("hi")` is two
// small records, and a fetched response's headers go back to Go as they
// came (a proxy never parses them).

const _inner = k.internalSymbol("response");
const _headers = k.internalSymbol("headers");

// Captured once: every response uses them.
const { textPlain, textPlainLine, sourceBody, fillHeaderText, contentTypeLine, ObjectDefineProperty } = k;
const InnerBodyPrototype = k.InnerBody.prototype;

// https://fetch.spec.whatwg.org/#concept-response: a literal (cheaper here
// than a constructor call) whose prototype holds the fields most responses
// leave at their defaults (each property a record gets costs here).
//
// A response made from a string (new Response(string), Response.json)
// holds it as src, with no body of its own: the inherited body accessor
// makes the InnerBody when something reads it, so the common response goes
// to Go (takeSource) without one.
const innerResponseDefaults = {
  type: "default",
  statusText: "",
  url: null, // the last URL of the URL list, or null
  redirected: false,
  guard: "response",
  src: null, // the string body nobody read yet, or null
  sent: null, // the string body takeSource handed out, or null
  get body() {
    const s = this.src;
    // Once sent, the body is used, as untouchedSource leaves it.
    const b = s !== null ? sourceBody(s) : { __proto__: InnerBodyPrototype, source: this.sent, consumed: true };
    this.src = null;
    ObjectDefineProperty(this, "body", { value: b, writable: true, enumerable: true, configurable: true });
    return b;
  },
  set body(b) {
    this.src = null;
    ObjectDefineProperty(this, "body", { value: b, writable: true, enumerable: true, configurable: true });
  },
};

// takeSource returns the string body of inner when it can go to Go as it
// is, leaving the body used; else undefined.
function takeSource(inner) {
  const s = inner.src;
  if (s !== null) {
    inner.src = null;
    inner.sent = s;
    return s;
  }
  const body = inner.body;
  return body === null ? undefined : body.untouchedSource();
}

// headerText is the header list (20_headers.js); body an InnerBody or null.
function newInnerResponse(status, headerText, body) {
  return { __proto__: innerResponseDefaults, status, headerText, body };
}

// https://fetch.spec.whatwg.org/#null-body-status
function nullBodyStatus(s) {
  return s === 101 || s === 103 || s === 204 || s === 205 || s === 304;
}

// https://fetch.spec.whatwg.org/#redirect-status
function redirectStatus(s) {
  return s === 301 || s === 302 || s === 303 || s === 307 || s === 308;
}

// https://httpwg.org/specs/rfc9110.html#status.line: reason-phrase is
// HTAB, SP, VCHAR and obs-text.
// deno-lint-ignore no-control-regex
const reasonPhraseRe = /^[\t\x20-\x7e\x80-\xff]*$/;

// https://fetch.spec.whatwg.org/#initialize-a-response: returns the inner
// response of a new Response from its init (a dictionary), body and type
// (the extracted body, an InnerBody or a string for src, and its content
// type, or null). Each member of init is read once, in the order status,
// statusText, headers.
function initializeResponse(init, body, type, prefix) {
  const s = init.status;
  let status = 200;
  if (typeof s === "number" && (s | 0) === s && s >= 200 && s <= 599) {
    status = s; // a valid unsigned short: the conversion is the identity
  } else if (s !== undefined) {
    status = k.toUnsignedShort(s, prefix, "status");
    if (status < 200 || status > 599) {
      throw new RangeError(`${prefix}: The status provided (${status}) is outside the range [200, 599].`);
    }
  }
  const st = init.statusText;
  let statusText = "";
  if (st !== undefined) {
    statusText = k.toByteString(st, prefix, "statusText");
    if (!reasonPhraseRe.test(statusText)) {
      throw new TypeError(`${prefix}: Invalid statusText "${statusText}".`);
    }
  }
  const h = init.headers;
  let text = h === undefined ? "" : fillHeaderText("", h, prefix);
  if (body !== null) {
    // nullBodyStatus(status), of the statuses left at this point.
    if (status === 204 || status === 205 || status === 304) {
      throw new TypeError(`${prefix}: Response with null body status (${status}) cannot have body.`);
    }
    // The body's type when no header names one (contentTypeLine, inline).
    if (type !== null) {
      if (text === "") {
        text = type === textPlain ? textPlainLine : "content-type:" + type + "\n";
      } else if (text.indexOf("content-type:") === -1) {
        text += type === textPlain ? textPlainLine : "content-type:" + type + "\n";
      } else {
        text += contentTypeLine(text, type);
      }
    }
  }
  const inner = typeof body === "string"
    ? { __proto__: innerResponseDefaults, status, headerText: text, src: body }
    : { __proto__: innerResponseDefaults, status, headerText: text, body };
  if (statusText !== "") inner.statusText = statusText;
  return inner;
}

// https://webidl.spec.whatwg.org/#js-dictionary: an init other than
// undefined and null must be an object.
function notDictionary(prefix) {
  return new TypeError(`${prefix}: Argument 2 can not be converted to a dictionary.`);
}

const jsonType = "application/json";
const jsonLine = "content-type:" + jsonType + "\n";

class Response {
  // https://fetch.spec.whatwg.org/#dom-response
  constructor(body = null, init = undefined) {
    if (typeof body === "string" && (init === undefined || init === null)) {
      // new Response(string), the common case, with its records inline.
      this[_inner] = { __proto__: innerResponseDefaults, status: 200, headerText: textPlainLine, src: body };
      return;
    }
    const prefix = "Failed to construct 'Response'";
    // https://fetch.spec.whatwg.org/#concept-bodyinit-extract, a string
    // inline.
    let b = null;
    let type = null;
    let text = "";
    if (typeof body === "string") {
      b = body; // becomes src
      type = textPlain;
      text = textPlainLine;
    } else if (body !== null && body !== undefined) {
      const extracted = k.extractBody(body, prefix);
      b = extracted[0];
      type = extracted[1];
      if (type !== null) text = "content-type:" + type + "\n";
    }
    if (init === undefined || init === null) {
      this[_inner] = newInnerResponse(200, text, b);
      return;
    }
    if (typeof init !== "object" && typeof init !== "function") throw notDictionary(prefix);
    this[_inner] = initializeResponse(init, b, type, prefix);
  }

  // https://fetch.spec.whatwg.org/#dom-response-error
  static error() {
    const inner = newInnerResponse(0, "", null);
    inner.type = "error";
    inner.guard = "immutable";
    return responseFromInner(inner);
  }

  // https://fetch.spec.whatwg.org/#dom-response-redirect
  static redirect(url, status = 302) {
    const prefix = "Failed to execute 'redirect' on 'Response'";
    k.requiredArguments(arguments.length, 1, prefix);
    const input = k.toUSVString(url, prefix, "url");
    const href = k.urlHref !== undefined ? k.urlHref(input) : new k.URL(input).href;
    if (href === null) throw new TypeError(`${prefix}: Invalid URL "${input}".`);
    status = k.toUnsignedShort(status, prefix, "status");
    if (!redirectStatus(status)) {
      throw new RangeError(`${prefix}: Invalid status code ${status} (must be 301, 302, 303, 307 or 308).`);
    }
    const inner = newInnerResponse(status, "location:" + href + "\n", null);
    inner.guard = "immutable";
    return responseFromInner(inner);
  }

  // https://fetch.spec.whatwg.org/#dom-response-json
  static json(data, init = undefined) {
    const prefix = "Failed to execute 'json' on 'Response'";
    if (arguments.length < 1) k.requiredArguments(arguments.length, 1, prefix);
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError(`${prefix}: The data is not JSON serializable.`);
    if (init === undefined || init === null) {
      return { __proto__: ResponsePrototype, [_inner]: { __proto__: innerResponseDefaults, status: 200, headerText: jsonLine, src: text } };
    }
    if (typeof init !== "object" && typeof init !== "function") throw notDictionary(prefix);
    return responseFromInner(initializeResponse(init, text, jsonType, prefix));
  }

  get type() {
    k.webidlBrandCheck(this, _inner, "Response");
    return this[_inner].type;
  }

  get url() {
    k.webidlBrandCheck(this, _inner, "Response");
    const url = this[_inner].url;
    if (url === null) return "";
    const hash = url.indexOf("#");
    return hash === -1 ? url : url.slice(0, hash);
  }

  get redirected() {
    k.webidlBrandCheck(this, _inner, "Response");
    return this[_inner].redirected;
  }

  get status() {
    k.webidlBrandCheck(this, _inner, "Response");
    return this[_inner].status;
  }

  get ok() {
    k.webidlBrandCheck(this, _inner, "Response");
    const s = this[_inner].status;
    return s >= 200 && s <= 299;
  }

  get statusText() {
    k.webidlBrandCheck(this, _inner, "Response");
    return this[_inner].statusText;
  }

  // The Headers object is made on first use.
  get headers() {
    k.webidlBrandCheck(this, _inner, "Response");
    const inner = this[_inner];
    return (this[_headers] ??= k.headersFromHolder(inner, inner.guard));
  }

  // https://fetch.spec.whatwg.org/#dom-response-clone
  clone() {
    k.webidlBrandCheck(this, _inner, "Response");
    const inner = this[_inner];
    if (inner.body !== null && inner.body.unusable) {
      throw new TypeError("Failed to execute 'clone' on 'Response': Response body is already used.");
    }
    const c = newInnerResponse(inner.status, inner.headerText, null);
    c.statusText = inner.statusText;
    c.type = inner.type;
    c.url = inner.url;
    c.redirected = inner.redirected;
    c.guard = inner.guard;
    if (inner.body !== null) c.body = inner.body.clone();
    return responseFromInner(c);
  }

  [k.customInspect](inspect, options) {
    return `Response ${inspect({
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
      bodyUsed: this.bodyUsed,
      ok: this.ok,
      redirected: this.redirected,
      type: this.type,
      url: this.url,
    }, options)}`;
  }
}
k.mixinBody(Response, _inner, "Response");
k.configureInterface(Response);

const ResponsePrototype = Response.prototype;

function responseFromInner(inner) {
  return { __proto__: ResponsePrototype, [_inner]: inner };
}

// newFetchResponse makes the Response of a fetch from op_fetch_send's
// result; its headers are immutable and stay text until read.
function newFetchResponse(status, statusText, headersFlat, bodyRid, url, redirected) {
  const inner = newInnerResponse(status, headersFlat, bodyRid >= 0 ? k.resourceBody(bodyRid) : null);
  inner.statusText = statusText;
  inner.type = "basic";
  inner.url = url;
  inner.redirected = redirected;
  inner.guard = "immutable";
  return responseFromInner(inner);
}

function responseInner(r) {
  return r[_inner];
}

return { Response, newFetchResponse, responseInner, takeSource, nullBodyStatus };
