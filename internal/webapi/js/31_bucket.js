// Blob buckets: env.<BINDING> of kind "bucket", with the shape of R2:
// https://developers.cloudflare.com/r2/api/workers/workers-api-reference/
//
// Bodies stream: an object's body is a Go body resource read from the store
// chunk by chunk, and a put whose value is an untouched request or fetched
// body hands that resource to Go, so neither passes through JavaScript;
// any other stream is written to Go chunk by chunk, each write awaited.
// Differences from R2: etag is the hex SHA-256 of the content (R2: MD5) and
// version is the etag; get's range and onlyIf, put's onlyIf and checksums,
// and multipart uploads are not supported (they throw rather than being
// silently ignored).
const {
  configureInterface,
  illegalConstructorKey,
  illegalConstructor,
  internalSymbol,
  webidlBrandCheck,
  requiredArguments,
  toDictionary,
  toUSVString,
  bufferSourceView,
  customInspect,
  ArrayIsArray,
} = k;

const _name = internalSymbol("bucketName");
const _body = internalSymbol("objectBody");

const httpFields = ["contentType", "contentLanguage", "contentDisposition", "contentEncoding", "cacheControl", "cacheExpiry"];
const headerOfField = {
  contentType: "content-type",
  contentLanguage: "content-language",
  contentDisposition: "content-disposition",
  contentEncoding: "content-encoding",
  cacheControl: "cache-control",
  cacheExpiry: "expires",
};

// An object's metadata, from the description Go sends.
class R2Object {
  constructor(key, d) {
    if (key !== illegalConstructorKey) illegalConstructor();
    this.key = d.key;
    this.version = d.etag;
    this.size = d.size;
    this.etag = d.etag;
    this.httpEtag = `"${d.etag}"`;
    this.checksums = { sha256: d.etag };
    this.uploaded = new Date(d.uploaded);
    const http = {};
    for (const f of httpFields) {
      const v = d.httpMetadata[f];
      if (v !== undefined) http[f] = f === "cacheExpiry" ? new Date(v) : v;
    }
    this.httpMetadata = http;
    this.customMetadata = d.customMetadata;
    this.storageClass = "Standard";
  }

  // writeHttpMetadata sets the object's HTTP metadata as headers.
  writeHttpMetadata(headers) {
    requiredArguments(arguments.length, 1, "R2Object.writeHttpMetadata");
    const http = this.httpMetadata || {};
    for (const f of httpFields) {
      const v = http[f];
      if (v === undefined) continue;
      headers.set(headerOfField[f], f === "cacheExpiry" ? v.toUTCString() : v);
    }
  }
}
configureInterface(R2Object);

// An object with its body (get).
class R2ObjectBody extends R2Object {
  constructor(key, d, rid) {
    super(key, d);
    this[_body] = k.resourceBody(rid);
  }

  get body() {
    webidlBrandCheck(this, _body, "R2ObjectBody");
    return this[_body].stream;
  }

  get bodyUsed() {
    webidlBrandCheck(this, _body, "R2ObjectBody");
    return this[_body].used;
  }

  arrayBuffer() {
    return consume(this, "arrayBuffer", false).then((b) =>
      b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.slice().buffer);
  }

  bytes() {
    return consume(this, "bytes", false);
  }

  text() {
    return consume(this, "text", true);
  }

  async json() {
    return JSON.parse(await consume(this, "json", true));
  }

  async blob() {
    const b = await consume(this, "blob", false);
    const type = this.httpMetadata.contentType;
    return new k.Blob([b], { type: type === undefined ? "" : type });
  }
}
configureInterface(R2ObjectBody);

function consume(self, method, asText) {
  try {
    webidlBrandCheck(self, _body, "R2ObjectBody");
    const body = self[_body];
    if (body.unusable) throw new TypeError(`R2ObjectBody.${method}: body already used`);
    return body.consume(asText);
  } catch (e) {
    return Promise.reject(e);
  }
}

function unsupported(opts, names, prefix) {
  for (const n of names) {
    if (opts[n] !== undefined && opts[n] !== null) throw new TypeError(`${prefix}: option ${n} is not supported`);
  }
}

// httpMetadataJSON converts put's httpMetadata (an object of the R2 fields
// or a Headers) to the JSON Go takes, or null.
function httpMetadataJSON(v, prefix) {
  if (v === undefined || v === null) return null;
  const out = {};
  if (v instanceof k.Headers) {
    for (const f of httpFields) {
      const h = v.get(headerOfField[f]);
      if (h !== null) out[f] = h;
    }
    return JSON.stringify(out);
  }
  if (typeof v !== "object") throw new TypeError(`${prefix}: httpMetadata must be an object or a Headers`);
  for (const key of Object.keys(v)) {
    if (!httpFields.includes(key)) {
      throw new TypeError(`${prefix}: httpMetadata has no field "${key}" (known: ${httpFields.join(", ")})`);
    }
    const x = v[key];
    if (x === undefined || x === null) continue;
    if (key === "cacheExpiry") {
      const d = x instanceof Date ? x : new Date(x);
      if (Number.isNaN(d.getTime())) throw new TypeError(`${prefix}: httpMetadata.cacheExpiry is not a valid date`);
      out[key] = d.toUTCString();
    } else {
      out[key] = toUSVString(x, prefix, `httpMetadata.${key}`);
    }
  }
  return JSON.stringify(out);
}

function customMetadataJSON(v, prefix) {
  if (v === undefined || v === null) return null;
  if (typeof v !== "object") throw new TypeError(`${prefix}: customMetadata must be an object of strings`);
  const out = {};
  for (const key of Object.keys(v)) out[key] = toUSVString(v[key], prefix, `customMetadata.${key}`);
  return JSON.stringify(out);
}

// streamPut writes a JavaScript stream to a streamed put, chunk by chunk.
async function streamPut(name, key, http, custom, stream, prefix) {
  const reader = stream.getReader();
  const id = ops.op_bucket_put_stream(name, key, http, custom);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = bufferSourceView(value);
      if (chunk === undefined) throw new TypeError(`${prefix}: stream chunk is not a Uint8Array`);
      if (chunk.byteLength > 0) await ops.op_bucket_put_write(id, chunk);
    }
  } catch (e) {
    reader.cancel(e).catch(() => {});
    ops.op_bucket_put_end(id, String(e && e.message !== undefined ? e.message : e)).catch(() => {});
    throw e;
  }
  return ops.op_bucket_put_end(id, null);
}

class R2Bucket {
  constructor(key, name) {
    if (key !== illegalConstructorKey) illegalConstructor();
    this[_name] = name;
  }

  // head(key) → R2Object | null.
  async head(key) {
    const prefix = "R2Bucket.head";
    webidlBrandCheck(this, _name, "R2Bucket");
    requiredArguments(arguments.length, 1, prefix);
    const d = await ops.op_bucket_head(this[_name], toUSVString(key, prefix, "key"));
    return d === null ? null : new R2Object(illegalConstructorKey, d);
  }

  // get(key) → R2ObjectBody | null.
  async get(key, options) {
    const prefix = "R2Bucket.get";
    webidlBrandCheck(this, _name, "R2Bucket");
    requiredArguments(arguments.length, 1, prefix);
    unsupported(toDictionary(options, prefix, "options"), ["range", "onlyIf", "ssecKey"], prefix);
    const r = await ops.op_bucket_get(this[_name], toUSVString(key, prefix, "key"));
    return r === null ? null : new R2ObjectBody(illegalConstructorKey, r[0], r[1]);
  }

  // put(key, value, { httpMetadata, customMetadata }) → R2Object.
  async put(key, value, options) {
    const prefix = "R2Bucket.put";
    webidlBrandCheck(this, _name, "R2Bucket");
    requiredArguments(arguments.length, 2, prefix);
    key = toUSVString(key, prefix, "key");
    const opts = toDictionary(options, prefix, "options");
    unsupported(opts, ["onlyIf", "md5", "sha1", "sha256", "sha384", "sha512", "ssecKey"], prefix);
    const http = httpMetadataJSON(opts.httpMetadata, prefix);
    const custom = customMetadataJSON(opts.customMetadata, prefix);
    const name = this[_name];
    let body;
    if (value === null || value === undefined || typeof value === "string") {
      body = value === undefined ? null : value;
    } else if ((body = bufferSourceView(value)) !== undefined) {
      // bytes, copied by the op
    } else if (isLoaded("isBlob", value)) {
      body = new Uint8Array(await value.arrayBuffer());
    } else if (isLoaded("isReadableStream", value)) {
      if (value.locked || k.isReadableStreamDisturbed(value)) {
        throw new TypeError(`${prefix}: the ReadableStream value is locked or disturbed`);
      }
      const [inner] = k.extractBody(value, prefix);
      body = inner.takeRid();
      if (body < 0) return new R2Object(illegalConstructorKey, await streamPut(name, key, http, custom, value, prefix));
    } else {
      throw new TypeError(`${prefix}: values must be null, strings, ArrayBuffers, ArrayBufferViews, Blobs or ReadableStreams`);
    }
    return new R2Object(illegalConstructorKey, await ops.op_bucket_put(name, key, http, custom, body));
  }

  // delete(key | keys[]) → undefined; absent keys are not an error.
  async delete(keys) {
    const prefix = "R2Bucket.delete";
    webidlBrandCheck(this, _name, "R2Bucket");
    requiredArguments(arguments.length, 1, prefix);
    const list = ArrayIsArray(keys) ? keys.map((key) => toUSVString(key, prefix, "key")) : [toUSVString(keys, prefix, "key")];
    if (list.length === 0) return;
    return ops.op_bucket_delete(this[_name], JSON.stringify(list));
  }

  // list({ prefix, cursor, delimiter, limit, include }) → { objects,
  // delimitedPrefixes, truncated, cursor? }. Objects carry httpMetadata and
  // customMetadata only when include names them, as in R2.
  async list(options) {
    const prefix = "R2Bucket.list";
    webidlBrandCheck(this, _name, "R2Bucket");
    const opts = toDictionary(options, prefix, "options");
    const str = (v, what) => (v === undefined || v === null ? "" : toUSVString(v, prefix, what));
    let limit = 0;
    if (opts.limit !== undefined && opts.limit !== null) {
      limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw new TypeError(`${prefix}: limit must be an integer between 1 and 1000, not ${String(opts.limit)}`);
      }
    }
    const include = opts.include === undefined || opts.include === null ? [] : Array.from(opts.include, String);
    for (const f of include) {
      if (f !== "httpMetadata" && f !== "customMetadata") {
        throw new TypeError(`${prefix}: include may name "httpMetadata" and "customMetadata", not "${f}"`);
      }
    }
    const r = await ops.op_bucket_list(this[_name], str(opts.prefix, "prefix"), str(opts.cursor, "cursor"),
      str(opts.delimiter, "delimiter"), limit);
    const objects = r.objects.map((d) => {
      const o = new R2Object(illegalConstructorKey, d);
      if (!include.includes("httpMetadata")) o.httpMetadata = undefined;
      if (!include.includes("customMetadata")) o.customMetadata = undefined;
      return o;
    });
    const out = { objects, delimitedPrefixes: r.delimitedPrefixes, truncated: r.truncated };
    if (r.truncated) out.cursor = r.cursor;
    return out;
  }

  [customInspect]() {
    return `R2Bucket { ${this[_name]} }`;
  }
}
configureInterface(R2Bucket);

// isLoaded(check, v) is k[check](v) without loading the lazy layer of
// check: with it not loaded, v cannot be of its class.
function isLoaded(check, v) {
  const is = k.ifLoaded(check);
  return is !== undefined && is(v);
}

// env.NAME of a "bucket" binding (00_infra.js bindingFactory).
const bucketBinding = (name) => new R2Bucket(illegalConstructorKey, name);

return { R2Bucket, R2Object, R2ObjectBody, bucketBinding };
