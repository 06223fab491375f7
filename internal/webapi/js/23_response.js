// Response: https://fetch.spec.whatwg.org/#response-class
//
// InnerResponse is the spec's response; class Response is its public face.
// A Response gets a Headers object only when script reads .headers, so
// `new Response("hi")` is one small record; a fetched response keeps Go's
// "name:value\n" header text until script reads it (a proxied response
// sends it back unparsed).

const _inner = k.internalSymbol("response");
const _headers = k.internalSymbol("headers");

class InnerResponse {
  constructor(status, statusText, headerList, headersFlat, body) {
    this.type = "default";
    this.status = status;
    this.statusText = statusText;
    this.list = headerList; // array of [name, value], or null until parsed
    this.flat = headersFlat; // "name:value\n" lines while list is null
    this.body = body; // InnerBody | null
    this.url = null; // the last URL of the URL list, or null
    this.redirected = false;
    this.guard = "response";
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

// https://fetch.spec.whatwg.org/#initialize-a-response
function initializeResponse(inner, init, body, prefix) {
  let status = 200;
  if (init.status !== undefined) status = k.toUnsignedShort(init.status, prefix, "status");
  if (status < 200 || status > 599) {
    throw new RangeError(`${prefix}: The status provided (${status}) is outside the range [200, 599].`);
  }
  let statusText = "";
  if (init.statusText !== undefined) {
    statusText = k.toByteString(init.statusText, prefix, "statusText");
    if (!reasonPhraseRe.test(statusText)) {
      throw new TypeError(`${prefix}: Invalid statusText "${statusText}".`);
    }
  }
  inner.status = status;
  inner.statusText = statusText;
  if (init.headers !== undefined) {
    k.fillHeaders(k.headersFromList(inner.list, "response"), init.headers, prefix);
  }
  if (body !== null) {
    if (nullBodyStatus(status)) {
      throw new TypeError(`${prefix}: Response with null body status (${status}) cannot have body.`);
    }
    inner.body = body[0];
    if (body[1] !== null && !k.listHas(inner.list, "content-type")) inner.list.push(["content-type", body[1]]);
  }
}

class Response {
  // https://fetch.spec.whatwg.org/#dom-response
  constructor(body = null, init = undefined) {
    const prefix = "Failed to construct 'Response'";
    const inner = new InnerResponse(200, "", [], null, null);
    this[_inner] = inner;
    this[_headers] = null;
    const extracted = body === null || body === undefined ? null : k.extractBody(body, prefix);
    if (init === undefined || init === null) {
      // Fast path for `new Response(body)`.
      if (extracted !== null) {
        inner.body = extracted[0];
        if (extracted[1] !== null) inner.list.push(["content-type", extracted[1]]);
      }
      return;
    }
    initializeResponse(inner, k.toDictionary(init, prefix, "Argument 2"), extracted, prefix);
  }

  // https://fetch.spec.whatwg.org/#dom-response-error
  static error() {
    const inner = new InnerResponse(0, "", [], null, null);
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
    const inner = new InnerResponse(status, "", [["location", href]], null, null);
    inner.guard = "immutable";
    return responseFromInner(inner);
  }

  // https://fetch.spec.whatwg.org/#dom-response-json
  static json(data, init = undefined) {
    const prefix = "Failed to execute 'json' on 'Response'";
    k.requiredArguments(arguments.length, 1, prefix);
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError(`${prefix}: The data is not JSON serializable.`);
    const inner = new InnerResponse(200, "", [], null, null);
    initializeResponse(inner, k.toDictionary(init, prefix, "Argument 2"), [new k.InnerBody(text, null, -1, null), "application/json"], prefix);
    return responseFromInner(inner);
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

  get headers() {
    k.webidlBrandCheck(this, _inner, "Response");
    const inner = this[_inner];
    return (this[_headers] ??= k.headersFromList(inner.headerList, inner.guard));
  }

  // https://fetch.spec.whatwg.org/#dom-response-clone
  clone() {
    k.webidlBrandCheck(this, _inner, "Response");
    const inner = this[_inner];
    if (inner.body !== null && inner.body.unusable) {
      throw new TypeError("Failed to execute 'clone' on 'Response': Response body is already used.");
    }
    const c = new InnerResponse(inner.status, inner.statusText, inner.list === null ? null : inner.list.slice(), inner.flat, null);
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

function responseFromInner(inner) {
  const r = Object.create(Response.prototype);
  r[_inner] = inner;
  r[_headers] = null;
  return r;
}

// newFetchResponse makes the Response of a fetch from op_fetch_send's
// result; its headers are immutable and stay text until read.
function newFetchResponse(status, statusText, headersFlat, bodyRid, url, redirected) {
  const inner = new InnerResponse(status, statusText, null, headersFlat, bodyRid >= 0 ? k.resourceBody(bodyRid) : null);
  inner.type = "basic";
  inner.url = url;
  inner.redirected = redirected;
  inner.guard = "immutable";
  return responseFromInner(inner);
}

function responseInner(r) {
  return r[_inner];
}

return { Response, newFetchResponse, responseInner, nullBodyStatus };
