// Blob, File: https://w3c.github.io/FileAPI/
// A blob's bytes are a list of immutable Uint8Array parts (copied in once);
// slice shares them, and nothing is concatenated until read.
const {
  internalSymbol,
  customInspect,
  configureInterface,
  requiredArguments,
  toDictionary,
  toUSVString,
  enumValue,
  isBufferSource,
  copyBufferSource,
  concatBytes,
  SymbolIterator,
  PromiseResolve,
  PromiseReject,
  utf8Encode,
  utf8Decode,
  registerCloneable,
} = k;

const _parts = internalSymbol("[[parts]]");
const _size = internalSymbol("[[size]]");
const _type = internalSymbol("[[type]]");
const _name = internalSymbol("[[name]]");
const _lastModified = internalSymbol("[[lastModified]]");

// Chunk size of blob.stream().
const STREAM_CHUNK = 64 * 1024;

// https://w3c.github.io/FileAPI/#blob-section
class Blob {
  constructor(blobParts = undefined, options = undefined) {
    const prefix = "Failed to construct 'Blob'";
    const o = toDictionary(options, prefix, "Argument 2");
    const parts = processBlobParts(blobParts, o, prefix, "Argument 1");
    initBlob(this, parts, normalizeType(o.type, prefix));
  }

  get size() {
    checkBlob(this);
    return this[_size];
  }

  get type() {
    checkBlob(this);
    return this[_type];
  }

  // https://w3c.github.io/FileAPI/#dfn-slice
  slice(start = undefined, end = undefined, contentType = undefined) {
    checkBlob(this);
    const prefix = "Failed to execute 'slice' on 'Blob'";
    const size = this[_size];
    let relativeStart = 0, relativeEnd = size;
    if (start !== undefined) {
      const s = toInteger64(start, prefix, "Argument 1");
      relativeStart = s < 0 ? Math.max(size + s, 0) : Math.min(s, size);
    }
    if (end !== undefined) {
      const e = toInteger64(end, prefix, "Argument 2");
      relativeEnd = e < 0 ? Math.max(size + e, 0) : Math.min(e, size);
    }
    const type = contentType === undefined ? "" : normalizeType(contentType, prefix);
    const span = Math.max(relativeEnd - relativeStart, 0);
    const blob = Object.create(Blob.prototype);
    initBlob(blob, sliceParts(this[_parts], relativeStart, span), type);
    return blob;
  }

  // https://w3c.github.io/FileAPI/#stream-method-algo
  stream() {
    checkBlob(this);
    return blobStream(this);
  }

  // https://w3c.github.io/FileAPI/#text-method-algo
  text() {
    if (!isBlob(this)) return PromiseReject(new TypeError("Illegal invocation: not a Blob"));
    return PromiseResolve(utf8Decode(blobBytes(this)));
  }

  // https://w3c.github.io/FileAPI/#arraybuffer-method-algo
  arrayBuffer() {
    if (!isBlob(this)) return PromiseReject(new TypeError("Illegal invocation: not a Blob"));
    return PromiseResolve(blobCopy(this).buffer);
  }

  // https://w3c.github.io/FileAPI/#bytes-method-algo
  bytes() {
    if (!isBlob(this)) return PromiseReject(new TypeError("Illegal invocation: not a Blob"));
    return PromiseResolve(blobCopy(this));
  }

  [customInspect](inspect) {
    return `Blob ${inspect({ size: this[_size], type: this[_type] })}`;
  }
}
configureInterface(Blob);

function isBlob(v) {
  return v !== null && typeof v === "object" && _parts in v;
}

function checkBlob(v) {
  if (!isBlob(v)) throw new TypeError("Illegal invocation: not a Blob");
}

function initBlob(blob, parts, type) {
  let size = 0;
  for (let i = 0; i < parts.length; i++) size += parts[i].byteLength;
  blob[_parts] = parts;
  blob[_size] = size;
  blob[_type] = type;
}

// WebIDL long long, which slice takes.
function toInteger64(v, prefix, context) {
  const x = Number(v);
  if (!Number.isFinite(x)) return 0;
  return Math.trunc(x);
}

// https://w3c.github.io/FileAPI/#dfn-type: lowercased, or "" when not
// printable ASCII.
function normalizeType(type, prefix) {
  if (type === undefined) return "";
  const t = toUSVString(type, prefix, "type");
  // deno-lint-ignore no-control-regex
  if (/[^\x20-\x7e]/.test(t)) return "";
  return t.toLowerCase();
}

// https://w3c.github.io/FileAPI/#process-blob-parts
function processBlobParts(blobParts, options, prefix, context) {
  if (blobParts === undefined) return [];
  if (blobParts === null || typeof blobParts !== "object" || typeof blobParts[SymbolIterator] !== "function") {
    throw new TypeError(`${prefix}: The provided value cannot be converted to a sequence.`);
  }
  const native = options.endings === undefined
    ? false
    : enumValue(options.endings, ["transparent", "native"], prefix, "endings", "EndingType") === "native";
  const parts = [];
  for (const element of blobParts) {
    if (isBlob(element)) {
      const p = element[_parts];
      for (let i = 0; i < p.length; i++) parts.push(p[i]);
    } else if (isBufferSource(element)) {
      const bytes = copyBufferSource(element);
      if (bytes.byteLength > 0) parts.push(bytes);
    } else {
      let s = toUSVString(element, prefix, context);
      // https://w3c.github.io/FileAPI/#convert-line-endings-to-native
      if (native) s = s.replace(/\r\n?/g, "\n");
      if (s.length > 0) parts.push(utf8Encode(s));
    }
  }
  return parts;
}

function sliceParts(parts, start, span) {
  const out = [];
  let offset = 0;
  for (let i = 0; i < parts.length && span > 0; i++) {
    const p = parts[i];
    const len = p.byteLength;
    if (offset + len <= start) {
      offset += len;
      continue;
    }
    const from = Math.max(start - offset, 0);
    const to = Math.min(len, from + span);
    out.push(from === 0 && to === len ? p : p.subarray(from, to));
    span -= to - from;
    offset += len;
    start = offset;
  }
  return out;
}

// The blob's bytes as one Uint8Array the caller must not modify.
function blobBytes(blob) {
  const parts = blob[_parts];
  if (parts.length === 0) return new Uint8Array(0);
  return concatBytes(parts, blob[_size]);
}

// A fresh copy of the blob's bytes.
function blobCopy(blob) {
  const parts = blob[_parts];
  if (parts.length === 1) return parts[0].slice();
  if (parts.length === 0) return new Uint8Array(0);
  return concatBytes(parts, blob[_size]);
}

// The stream functions are read when called: streams (06_streams.js) load
// with the first blob.stream(), not with Blob.
function blobStream(blob) {
  const { createReadableStream, readableStreamEnqueue, readableStreamClose } = k;
  const parts = blob[_parts];
  let i = 0, offset = 0;
  let stream;
  const pull = () => {
    if (i >= parts.length) {
      readableStreamClose(stream);
      return PromiseResolve();
    }
    const p = parts[i];
    const end = Math.min(offset + STREAM_CHUNK, p.byteLength);
    const chunk = p.slice(offset, end);
    offset = end;
    if (offset >= p.byteLength) {
      i++;
      offset = 0;
    }
    readableStreamEnqueue(stream, chunk);
    if (i >= parts.length) readableStreamClose(stream);
    return PromiseResolve();
  };
  stream = createReadableStream(() => {}, pull, () => PromiseResolve(), 0);
  return stream;
}

// https://w3c.github.io/FileAPI/#file-section
class File extends Blob {
  constructor(fileBits, fileName, options = undefined) {
    const prefix = "Failed to construct 'File'";
    requiredArguments(arguments.length, 2, prefix);
    super(fileBits, options);
    this[_name] = toUSVString(fileName, prefix, "Argument 2");
    const o = toDictionary(options, prefix, "Argument 3");
    this[_lastModified] = o.lastModified === undefined
      ? Date.now()
      : toInteger64(o.lastModified, prefix, "lastModified");
  }

  get name() {
    checkFile(this);
    return this[_name];
  }

  get lastModified() {
    checkFile(this);
    return this[_lastModified];
  }

  get webkitRelativePath() {
    checkFile(this);
    return "";
  }

  [customInspect](inspect) {
    return `File ${inspect({ name: this[_name], size: this[_size], type: this[_type], lastModified: this[_lastModified] })}`;
  }
}
configureInterface(File);

function checkFile(v) {
  if (v === null || typeof v !== "object" || !(_name in v)) throw new TypeError("Illegal invocation: not a File");
}

// Blobs and Files are serializable
// (https://w3c.github.io/FileAPI/#blob-section): a clone shares the
// immutable parts.
registerCloneable(
  (v) => isBlob(v),
  (v) => {
    const c = Object.create(_name in v ? File.prototype : Blob.prototype);
    initBlob(c, v[_parts], v[_type]);
    if (_name in v) {
      c[_name] = v[_name];
      c[_lastModified] = v[_lastModified];
    }
    return c;
  },
);

// newBlob makes a Blob over bytes the caller hands over (not copied).
function newBlob(bytes, type = "") {
  const b = Object.create(Blob.prototype);
  initBlob(b, bytes.byteLength > 0 ? [bytes] : [], type);
  return b;
}

return { Blob, File, isBlob, blobBytes, newBlob };
