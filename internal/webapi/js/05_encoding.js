// TextEncoder, TextDecoder: https://encoding.spec.whatwg.org/
// atob, btoa: https://html.spec.whatwg.org/multipage/webappapis.html#atob
// The byte work runs in Go (op_encoding_*): QuickJS loops over bytes are
// slow.
const {
  internalSymbol,
  customInspect,
  configureInterface,
  requiredArguments,
  toDOMString,
  toDictionary,
  toBoolean,
  bufferSourceView,
  concatBytes,
} = k;

// https://encoding.spec.whatwg.org/#interface-textencoder
class TextEncoder {
  get encoding() {
    checkEncoder(this);
    return "utf-8";
  }

  // https://encoding.spec.whatwg.org/#dom-textencoder-encode
  encode(input = "") {
    checkEncoder(this);
    if (typeof input !== "string") {
      input = toDOMString(input, "Failed to execute 'encode' on 'TextEncoder'", "Argument 1");
    }
    return ops.op_encoding_encode(input);
  }

  // https://encoding.spec.whatwg.org/#dom-textencoder-encodeinto
  encodeInto(source, destination) {
    checkEncoder(this);
    const prefix = "Failed to execute 'encodeInto' on 'TextEncoder'";
    requiredArguments(arguments.length, 2, prefix);
    source = toDOMString(source, prefix, "Argument 1");
    if (!(destination instanceof Uint8Array)) {
      throw new TypeError(`${prefix}: parameter 2 is not of type 'Uint8Array'.`);
    }
    const [read, bytes] = ops.op_encoding_encode_into(source, destination.length);
    destination.set(bytes);
    return { read, written: bytes.length };
  }

  [customInspect](inspect) {
    return `TextEncoder ${inspect({ encoding: "utf-8" })}`;
  }
}
configureInterface(TextEncoder);

// A TextEncoder has no state; this checks it is one.
function checkEncoder(e) {
  if (!(e instanceof TextEncoder)) throw new TypeError("Illegal invocation: not a TextEncoder");
}

// https://encoding.spec.whatwg.org/#names-and-labels, for the encodings the
// decoder supports.
const labelList = [
  ["utf-8", "unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8"],
  ["utf-16le", "csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le"],
  ["utf-16be", "unicodefffe utf-16be"],
  [
    "windows-1252",
    "ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 iso8859-1 " +
    "iso88591 iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 x-cp1252",
  ],
];
// label → encoding name, made on first use.
let labels;

// https://encoding.spec.whatwg.org/#concept-encoding-get
function getEncoding(label) {
  if (labels === undefined) {
    labels = new Map();
    for (const [name, list] of labelList) {
      for (const l of list.split(" ")) labels.set(l, name);
    }
  }
  return labels.get(label.trim().toLowerCase());
}

const _encoding = internalSymbol("[[encoding]]");
const _fatal = internalSymbol("[[error mode]]");
const _ignoreBOM = internalSymbol("[[ignore BOM]]");
const _bomSeen = internalSymbol("[[BOM seen]]");
const _pending = internalSymbol("[[pending bytes]]");

// https://encoding.spec.whatwg.org/#interface-textdecoder
class TextDecoder {
  constructor(label = "utf-8", options = undefined) {
    const prefix = "Failed to construct 'TextDecoder'";
    let encoding = "utf-8";
    if (label !== "utf-8") {
      label = toDOMString(label, prefix, "Argument 1");
      encoding = getEncoding(label);
      if (encoding === undefined) {
        throw new RangeError(`${prefix}: The encoding label provided ('${label}') is invalid.`);
      }
    }
    let fatal = false, ignoreBOM = false;
    if (options !== undefined) {
      options = toDictionary(options, prefix, "Argument 2");
      fatal = toBoolean(options.fatal);
      ignoreBOM = toBoolean(options.ignoreBOM);
    }
    this[_encoding] = encoding;
    this[_fatal] = fatal;
    this[_ignoreBOM] = ignoreBOM;
    this[_bomSeen] = false;
    this[_pending] = null;
  }

  get encoding() {
    checkDecoder(this);
    return this[_encoding];
  }

  get fatal() {
    checkDecoder(this);
    return this[_fatal];
  }

  get ignoreBOM() {
    checkDecoder(this);
    return this[_ignoreBOM];
  }

  // https://encoding.spec.whatwg.org/#dom-textdecoder-decode
  decode(input = undefined, options = undefined) {
    checkDecoder(this);
    const prefix = "Failed to execute 'decode' on 'TextDecoder'";
    let bytes;
    if (input === undefined) {
      bytes = new Uint8Array(0);
    } else {
      bytes = bufferSourceView(input);
      if (bytes === undefined) {
        throw new TypeError(`${prefix}: parameter 1 is not of type 'ArrayBuffer' or 'ArrayBufferView'.`);
      }
    }
    let stream = false;
    if (options !== undefined) stream = toBoolean(toDictionary(options, prefix, "Argument 2").stream);
    const pending = this[_pending];
    if (pending !== null) {
      bytes = concatBytes([pending, bytes]);
      this[_pending] = null;
    }
    // The BOM is stripped once, before the first code point.
    const stripBOM = !this[_ignoreBOM] && !this[_bomSeen] && this[_encoding] !== "windows-1252";
    if (!stream) {
      this[_bomSeen] = false;
      return ops.op_encoding_decode(this[_encoding], bytes, this[_fatal], stripBOM, false);
    }
    const [text, consumed] = ops.op_encoding_decode(this[_encoding], bytes, this[_fatal], stripBOM, true);
    if (consumed > 0) this[_bomSeen] = true;
    if (consumed < bytes.length) this[_pending] = bytes.slice(consumed);
    return text;
  }

  [customInspect](inspect) {
    return `TextDecoder ${inspect({ encoding: this[_encoding], fatal: this[_fatal], ignoreBOM: this[_ignoreBOM] })}`;
  }
}
configureInterface(TextDecoder);

function checkDecoder(d) {
  if (d === null || typeof d !== "object" || !(_encoding in d)) {
    throw new TypeError("Illegal invocation: not a TextDecoder");
  }
}

// https://html.spec.whatwg.org/multipage/webappapis.html#dom-btoa
function btoa(data) {
  requiredArguments(arguments.length, 1, "Failed to execute 'btoa'");
  return ops.op_encoding_btoa(toDOMString(data, "Failed to execute 'btoa'", "Argument 1"));
}

// https://html.spec.whatwg.org/multipage/webappapis.html#dom-atob
function atob(data) {
  requiredArguments(arguments.length, 1, "Failed to execute 'atob'");
  return ops.op_encoding_atob(toDOMString(data, "Failed to execute 'atob'", "Argument 1"));
}

return { TextEncoder, TextDecoder, btoa, atob, getEncoding };
