// KV namespaces: env.<BINDING> of kind "kv", with the shape of Workers KV:
// https://developers.cloudflare.com/kv/api/
//
// The store work is in Go (kv_ops.go over package bindings). Differences
// from Workers: expirationTtl and expiration may be as little as 1 second
// ahead (Workers: 60); cacheTtl is accepted and ignored (there is no edge
// cache); a "stream" value is a body resource read from Go, so returning it
// in a Response copies nothing through JavaScript.
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

const maxValueBytes = 25 << 20;
const maxBulkKeys = 100;
const types = ["text", "json", "arrayBuffer", "stream"];

const _name = internalSymbol("kvName");

// The type argument of get: a string or { type, cacheTtl }.
function typeOf(arg, prefix) {
  let type = arg;
  if (arg !== null && typeof arg === "object") type = arg.type;
  if (type === undefined || type === null) return "text";
  type = String(type);
  if (!types.includes(type)) {
    throw new TypeError(`${prefix}: unknown type "${type}" (use "text", "json", "arrayBuffer" or "stream")`);
  }
  return type;
}

const modes = { text: 0, json: 0, arrayBuffer: 1, stream: 2 };

function fromGo(type, value) {
  switch (type) {
    case "json":
      return JSON.parse(value);
    case "arrayBuffer":
      return value.byteOffset === 0 && value.byteLength === value.buffer.byteLength ? value.buffer : value.slice().buffer;
    case "stream":
      return k.resourceBody(value).stream;
    default:
      return value;
  }
}

function parseMetadata(json) {
  return json === null ? null : JSON.parse(json);
}

// putValue converts a put value to what op_kv_put takes: a string, a
// Uint8Array, or the id of a Go body resource.
async function putValue(value, prefix) {
  if (typeof value === "string") return value;
  const view = bufferSourceView(value);
  if (view !== undefined) return view;
  // 06_streams.js is lazy: with it not loaded, no ReadableStream exists.
  const isReadableStream = k.ifLoaded("isReadableStream");
  if (isReadableStream !== undefined && isReadableStream(value)) {
    if (value.locked || k.isReadableStreamDisturbed(value)) {
      throw new TypeError(`${prefix}: the ReadableStream value is locked or disturbed`);
    }
    // An untouched stream over a Go resource (a request body, a fetched
    // body) goes to Go whole.
    const [inner] = k.extractBody(value, prefix);
    const rid = inner.takeRid();
    if (rid >= 0) return rid;
    return readLimited(value.getReader(), prefix);
  }
  throw new TypeError(`${prefix}: values must be strings, ArrayBuffers, ArrayBufferViews or ReadableStreams`);
}

async function readLimited(reader, prefix) {
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const chunk = bufferSourceView(value);
    if (chunk === undefined) {
      const err = new TypeError(`${prefix}: stream chunk is not a Uint8Array`);
      reader.cancel(err).catch(() => {});
      throw err;
    }
    total += chunk.byteLength;
    if (total > maxValueBytes) {
      const err = new TypeError(`${prefix}: value of more than 25 MiB is over the 25 MiB limit`);
      reader.cancel(err).catch(() => {});
      throw err;
    }
    chunks.push(chunk);
  }
  return chunks.length === 0 ? new Uint8Array(0) : k.concatBytes(chunks, total);
}

function seconds(v, prefix, name) {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new TypeError(`${prefix}: ${name} must be a number of seconds, not ${String(v)}`);
  return n;
}

// getMany reads up to 100 keys at once (get with an array of keys).
async function getMany(name, keys, type, withMetadata) {
  const prefix = withMetadata ? "KV.getWithMetadata" : "KV.get";
  if (type !== "text" && type !== "json") {
    throw new TypeError(`${prefix}: several keys can be read as "text" or "json" only`);
  }
  if (keys.length > maxBulkKeys) throw new TypeError(`${prefix}: at most ${maxBulkKeys} keys at once, got ${keys.length}`);
  const names = keys.map((key) => toUSVString(key, prefix, "key"));
  const results = await Promise.all(names.map((key) => ops.op_kv_get(name, key, 0)));
  const out = new Map();
  for (let i = 0; i < names.length; i++) {
    const r = results[i];
    if (!withMetadata) out.set(names[i], r === null ? null : fromGo(type, r[0]));
    else out.set(names[i], r === null ? null : { value: fromGo(type, r[0]), metadata: parseMetadata(r[1]) });
  }
  return out;
}

class KVNamespace {
  constructor(key, name) {
    if (key !== illegalConstructorKey) illegalConstructor();
    this[_name] = name;
  }

  // get(key, type | { type, cacheTtl }) → value | null; get(keys[], ...)
  // → Map of key to value | null.
  async get(key, options) {
    const prefix = "KV.get";
    webidlBrandCheck(this, _name, "KVNamespace");
    requiredArguments(arguments.length, 1, prefix);
    const type = typeOf(options, prefix);
    if (ArrayIsArray(key)) return getMany(this[_name], key, type, false);
    const r = await ops.op_kv_get(this[_name], toUSVString(key, prefix, "key"), modes[type]);
    return r === null ? null : fromGo(type, r[0]);
  }

  // getWithMetadata(key, type) → { value, metadata, cacheStatus }.
  async getWithMetadata(key, options) {
    const prefix = "KV.getWithMetadata";
    webidlBrandCheck(this, _name, "KVNamespace");
    requiredArguments(arguments.length, 1, prefix);
    const type = typeOf(options, prefix);
    if (ArrayIsArray(key)) return getMany(this[_name], key, type, true);
    const r = await ops.op_kv_get(this[_name], toUSVString(key, prefix, "key"), modes[type]);
    if (r === null) return { value: null, metadata: null, cacheStatus: null };
    return { value: fromGo(type, r[0]), metadata: parseMetadata(r[1]), cacheStatus: null };
  }

  // put(key, value, { expirationTtl, expiration, metadata }) → undefined.
  async put(key, value, options) {
    const prefix = "KV.put";
    webidlBrandCheck(this, _name, "KVNamespace");
    requiredArguments(arguments.length, 2, prefix);
    key = toUSVString(key, prefix, "key");
    const opts = toDictionary(options, prefix, "options");
    let ttl = null;
    let expiration = null;
    let metadata = null;
    if (opts.expirationTtl !== undefined && opts.expirationTtl !== null) {
      ttl = seconds(opts.expirationTtl, prefix, "expirationTtl");
    }
    if (opts.expiration !== undefined && opts.expiration !== null) {
      expiration = seconds(opts.expiration, prefix, "expiration");
    }
    if (opts.metadata !== undefined && opts.metadata !== null) {
      metadata = JSON.stringify(opts.metadata);
      if (metadata === undefined) throw new TypeError(`${prefix}: metadata cannot be serialised as JSON`);
    }
    const v = await putValue(value, prefix);
    return ops.op_kv_put(this[_name], key, v, ttl, expiration, metadata);
  }

  // delete(key) → undefined, also when the key does not exist.
  async delete(key) {
    const prefix = "KV.delete";
    webidlBrandCheck(this, _name, "KVNamespace");
    requiredArguments(arguments.length, 1, prefix);
    return ops.op_kv_delete(this[_name], toUSVString(key, prefix, "key"));
  }

  // list({ prefix, cursor, limit }) → { keys: [{ name, expiration?,
  // metadata? }], list_complete, cursor?, cacheStatus }.
  async list(options) {
    const prefix = "KV.list";
    webidlBrandCheck(this, _name, "KVNamespace");
    const opts = toDictionary(options, prefix, "options");
    const p = opts.prefix === undefined || opts.prefix === null ? "" : toUSVString(opts.prefix, prefix, "prefix");
    const cursor = opts.cursor === undefined || opts.cursor === null ? "" : toUSVString(opts.cursor, prefix, "cursor");
    let limit = 0;
    if (opts.limit !== undefined && opts.limit !== null) {
      limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw new TypeError(`${prefix}: limit must be an integer between 1 and 1000, not ${String(opts.limit)}`);
      }
    }
    const r = await ops.op_kv_list(this[_name], p, cursor, limit);
    r.cacheStatus = null;
    return r;
  }

  [customInspect]() {
    return `KVNamespace { ${this[_name]} }`;
  }
}
configureInterface(KVNamespace);

// env.NAME of a "kv" binding (00_infra.js bindingFactory).
const kvBinding = (name) => new KVNamespace(illegalConstructorKey, name);

return { KVNamespace, kvBinding };
