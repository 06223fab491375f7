// Bodies: https://fetch.spec.whatwg.org/#bodies and the Body mixin
// https://fetch.spec.whatwg.org/#body-mixin
//
// The spec's body is (stream, source, length). Here a body keeps what it
// was made from and makes the ReadableStream only when script asks for
// .body, so the common cases never build one:
//   - source: a string, a Uint8Array (a private copy), or parts (an array of
//     strings, Uint8Arrays and Blobs: a Blob or a multipart FormData);
//   - rid: a Go body resource (an incoming request body, a fetched
//     response body), read in chunks by op_body_read or at once by
//     op_body_read_all;
//   - streamObj: a ReadableStream, given by script or made lazily.
// A body read without its stream is "consumed"; a resource-backed stream
// that nobody read can still be handed to Go whole (takeRid), so proxying a
// body never copies it through the JS heap.

// Resource-backed streams made by InnerBody.stream, to the body holding the
// resource id.
const resourceStreams = new WeakMap();

function encodeUtf8(s) {
  return k.utf8Encode(s);
}
// UTF-8 decode (BOM dropped, invalid bytes replaced).
function decodeUtf8(b) {
  return k.utf8Decode(b);
}

// Type checks that do not load the lazy layers (webapi.go) they ask about.
function isReadableStream(v) {
  const ReadableStream = k.ifLoaded("ReadableStream");
  return ReadableStream !== undefined && v instanceof ReadableStream;
}

function isBlob(v) {
  const Blob = k.ifLoaded("Blob");
  return Blob !== undefined && v instanceof Blob;
}

function isFormData(v) {
  const isFormData = k.ifLoaded("isFormData");
  return isFormData !== undefined && isFormData(v);
}

function streamDisturbed(s) {
  const isReadableStreamDisturbed = k.ifLoaded("isReadableStreamDisturbed");
  return isReadableStreamDisturbed !== undefined && isReadableStreamDisturbed(s);
}

async function blobBytes(blob) {
  return new Uint8Array(await blob.arrayBuffer());
}

// Bytes of one part.
function partBytes(p) {
  if (typeof p === "string") return encodeUtf8(p);
  if (p instanceof Uint8Array) return p;
  return blobBytes(p);
}

// Fields left at their defaults (see InnerBody.prototype below) are not
// set: each property a constructor adds costs here, and most bodies are a
// string and nothing else.
class InnerBody {
  constructor(source, stream, rid, length) {
    this.source = source; // string | Uint8Array | Array (parts) | null
    if (stream !== null) this.streamObj = stream;
    if (rid !== -1) this.rid = rid;
    if (length !== null) this.length = length;
  }

  get stream() {
    if (this.streamObj === null) this.streamObj = this.makeStream();
    return this.streamObj;
  }

  // https://fetch.spec.whatwg.org/#body-unusable
  get used() {
    return this.consumed || this.disturbed || (this.streamObj !== null && streamDisturbed(this.streamObj));
  }

  get unusable() {
    return this.used || (this.streamObj !== null && this.streamObj.locked);
  }

  makeStream() {
    if (this.rid >= 0) return this.resourceStream();
    const body = this;
    let parts = this.source;
    if (parts === null || this.consumed) parts = [];
    else if (!Array.isArray(parts)) parts = [parts];
    let i = 0;
    return new k.ReadableStream({
      async pull(c) {
        body.disturbed = true;
        if (i >= parts.length) {
          c.close();
          return;
        }
        let b = await partBytes(parts[i++]);
        if (b === body.source || body.shared) b = b.slice();
        if (b.byteLength > 0) c.enqueue(b);
        if (i >= parts.length) c.close();
      },
    }, { highWaterMark: 0 });
  }

  resourceStream() {
    const body = this;
    const s = new k.ReadableStream({
      pull(c) {
        body.disturbed = true;
        const rid = body.rid;
        if (rid < 0) {
          c.close();
          return;
        }
        return ops.op_body_read(rid).then((chunk) => {
          if (chunk === null) {
            body.finish();
            c.close();
          } else {
            c.enqueue(chunk);
          }
        }, (err) => {
          body.finish();
          throw body.readError(err);
        });
      },
      cancel() {
        if (body.rid >= 0) ops.op_resource_close(body.rid);
        body.finish();
      },
    }, { highWaterMark: 0 });
    resourceStreams.set(s, this);
    return s;
  }

  // The resource is done with: drop the id, tell the owner once.
  finish() {
    this.rid = -1;
    const f = this.onDone;
    if (f !== null) {
      this.onDone = null;
      f();
    }
  }

  // https://fetch.spec.whatwg.org/#abort-fetch: reads after an abort fail
  // with the signal's reason.
  readError(err) {
    const s = this.signal;
    return s !== null && s.aborted ? s.reason : err;
  }

  // untouchedSource returns the string or bytes a body was made from when
  // it can be sent as is, marking it consumed; else undefined.
  untouchedSource() {
    if (this.streamObj !== null || this.consumed) return undefined;
    const s = this.source;
    if (typeof s === "string" || s instanceof Uint8Array) {
      this.consumed = true;
      return s;
    }
    return undefined;
  }

  // takeRid hands the Go resource of an untouched resource-backed body (or
  // of an untouched resource stream it was given) to the caller; -1 if the
  // bytes must go through JS.
  takeRid() {
    if (this.consumed) return -1;
    let holder = this;
    const s = this.streamObj;
    if (s !== null) {
      holder = resourceStreams.get(s);
      if (holder === undefined || holder.rid < 0 || holder.disturbed || s.locked) return -1;
      s.getReader(); // lock it: the bytes now go to Go
      holder.disturbed = true;
    } else if (this.rid < 0) {
      return -1;
    }
    const rid = holder.rid;
    holder.rid = -1;
    this.consumed = true;
    if (holder.onDone !== null) {
      // The owner (a fetch) learns of the end from Go's side; let go now.
      const f = holder.onDone;
      holder.onDone = null;
      f();
    }
    return rid;
  }

  // consume reads the whole body: https://fetch.spec.whatwg.org/#concept-body-consume-body
  // asText: resolve to a string (UTF-8 decoded), else to a Uint8Array the
  // caller owns.
  consume(asText) {
    if (this.streamObj === null) {
      this.consumed = true;
      const s = this.source;
      if (this.rid >= 0) {
        const rid = this.rid;
        this.rid = -1;
        // The op answers at once (a value, no promise) when Go already
        // holds the whole body in memory.
        return Promise.resolve(ops.op_body_read_all(rid, asText)).then((v) => {
          this.finish();
          return v;
        }, (err) => {
          this.finish();
          throw this.readError(err);
        });
      }
      if (typeof s === "string") {
        return Promise.resolve(asText ? (s.isWellFormed() ? s : s.toWellFormed()) : encodeUtf8(s));
      }
      if (s instanceof Uint8Array) {
        return Promise.resolve(asText ? decodeUtf8(s) : s.slice());
      }
      if (Array.isArray(s)) {
        return this.materializeParts(s).then((b) => (asText ? decodeUtf8(b) : b));
      }
      return Promise.resolve(asText ? "" : new Uint8Array(0));
    }
    return this.readStream().then((b) => (asText ? decodeUtf8(b) : b));
  }

  async materializeParts(parts) {
    const chunks = [];
    for (const p of parts) chunks.push(await partBytes(p));
    // Parts are strings and Blobs: their bytes are fresh copies already.
    return chunks.length === 0 ? new Uint8Array(0) : k.concatBytes(chunks);
  }

  // materialize returns the bytes of a parts body (Blob, FormData) that
  // nobody touched, marking it consumed; undefined for other bodies.
  materialize() {
    if (this.streamObj !== null || this.consumed || !Array.isArray(this.source)) return undefined;
    this.consumed = true;
    return this.materializeParts(this.source);
  }

  async readStream() {
    const reader = this.stream.getReader();
    this.consumed = true;
    const chunks = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!(value instanceof Uint8Array)) {
        const err = new TypeError("body stream chunk is not a Uint8Array");
        reader.cancel(err).catch(() => {});
        throw err;
      }
      chunks.push(value);
      total += value.byteLength;
    }
    if (chunks.length === 0) return new Uint8Array(0);
    return chunks.length === 1 ? chunks[0].slice() : k.concatBytes(chunks, total);
  }

  // https://fetch.spec.whatwg.org/#concept-body-clone
  clone() {
    if (this.streamObj === null && this.rid < 0) {
      const c = new InnerBody(this.source, null, -1, this.length);
      this.shared = c.shared = true;
      c.consumed = this.consumed;
      return c;
    }
    const [a, b] = this.stream.tee();
    this.streamObj = a;
    const c = new InnerBody(this.source, b, -1, this.length);
    c.signal = this.signal;
    return c;
  }

  // transfer moves the body to a new owner (new Request(request)); this one
  // is left used.
  transfer() {
    const b = new InnerBody(this.source, this.streamObj, this.rid, this.length);
    b.shared = this.shared;
    b.signal = this.signal;
    b.onDone = this.onDone;
    if (this.streamObj !== null && resourceStreams.get(this.streamObj) === this) {
      resourceStreams.set(this.streamObj, b);
    }
    this.source = null;
    this.rid = -1;
    this.onDone = null;
    this.consumed = true;
    return b;
  }
}

Object.assign(InnerBody.prototype, {
  streamObj: null, // a ReadableStream, given or made by .stream
  rid: -1, // a Go body resource, or -1
  length: null, // bytes, or null if unknown
  consumed: false, // read without (or taking over) its stream
  disturbed: false, // our own stream was pulled
  shared: false, // source shared with a clone: hand out copies
  signal: null, // a fetch's AbortSignal: read errors become its reason
  onDone: null, // called once when a resource body ends
});

const InnerBodyPrototype = InnerBody.prototype;

// sourceBody makes the body of a string, bytes or parts source, the common
// case, as a literal (cheaper here than a constructor call).
function sourceBody(source) {
  return { __proto__: InnerBodyPrototype, source };
}

// A body that reads from Go resource rid.
function resourceBody(rid) {
  return { __proto__: InnerBodyPrototype, source: null, rid };
}

const textPlain = k.textPlain;

// https://fetch.spec.whatwg.org/#concept-bodyinit-extract: returns
// [InnerBody, content type or null].
function extractBody(object, prefix) {
  if (typeof object === "string") return [sourceBody(object), textPlain];
  if (object !== null && typeof object === "object") {
    if (isReadableStream(object)) {
      if (object.locked || streamDisturbed(object)) {
        throw new TypeError(`${prefix}: the ReadableStream body is locked or disturbed.`);
      }
      return [new InnerBody(null, object, -1, null), null];
    }
    if (isBlob(object)) {
      return [new InnerBody([object], null, -1, object.size), object.type === "" ? null : object.type];
    }
    if (k.isBufferSource(object)) {
      const b = k.copyBufferSource(object);
      return [new InnerBody(b, null, -1, b.byteLength), null];
    }
    if (isFormData(object)) {
      const [parts, type] = k.formDataBody(object);
      return [new InnerBody(parts, null, -1, null), type];
    }
    if (k.isURLSearchParams !== undefined ? k.isURLSearchParams(object) : (k.URLSearchParams !== undefined && object instanceof k.URLSearchParams)) {
      return [new InnerBody(object.toString(), null, -1, null), "application/x-www-form-urlencoded;charset=UTF-8"];
    }
  }
  const s = k.toUSVString(object, prefix, "body");
  return [new InnerBody(s, null, -1, null), textPlain];
}

function bodyUnusableError(prefix) {
  return new TypeError(`${prefix}: body stream already read`);
}

// mixinBody adds the Body mixin to a class whose instances keep their inner
// record (with .body and .headerText) under innerKey.
function mixinBody(cls, innerKey, name) {
  const proto = cls.prototype;

  // Promise-returning, so every failure (brand check included) rejects.
  function consume(self, method, asText) {
    try {
      k.webidlBrandCheck(self, innerKey, name);
      const body = self[innerKey].body;
      if (body === null) return Promise.resolve(asText ? "" : new Uint8Array(0));
      if (body.unusable) throw bodyUnusableError(`Failed to execute '${method}' on '${name}'`);
      return body.consume(asText);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  function contentType(self) {
    return k.headerTextGet(self[innerKey].headerText, "content-type");
  }

  Object.defineProperties(proto, {
    body: {
      get() {
        k.webidlBrandCheck(this, innerKey, name);
        const body = this[innerKey].body;
        return body === null ? null : body.stream;
      },
      enumerable: true,
      configurable: true,
    },
    bodyUsed: {
      get() {
        k.webidlBrandCheck(this, innerKey, name);
        const body = this[innerKey].body;
        return body !== null && body.used;
      },
      enumerable: true,
      configurable: true,
    },
  });

  const methods = {
    arrayBuffer() {
      return consume(this, "arrayBuffer", false).then((b) =>
        b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.slice().buffer);
    },
    async blob() {
      const b = await consume(this, "blob", false);
      const ct = contentType(this);
      return new k.Blob([b], { type: ct === null ? "" : ct });
    },
    bytes() {
      return consume(this, "bytes", false);
    },
    // Parsing is 21_formdata.js's (bodyFormData).
    async formData() {
      k.webidlBrandCheck(this, innerKey, name);
      return k.bodyFormData(contentType(this), (asText) => consume(this, "formData", asText), `Failed to execute 'formData' on '${name}'`);
    },
    async json() {
      return JSON.parse(await consume(this, "json", true));
    },
    text() {
      return consume(this, "text", true);
    },
  };
  for (const key of Object.keys(methods)) {
    Object.defineProperty(proto, key, {
      value: methods[key], writable: true, enumerable: true, configurable: true,
    });
  }
}

return {
  InnerBody,
  sourceBody,
  resourceBody,
  extractBody,
  mixinBody,
  encodeUtf8,
  decodeUtf8,
};
