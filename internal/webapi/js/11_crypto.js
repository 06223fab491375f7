// Web Crypto: https://w3c.github.io/webcrypto/
// crypto.getRandomValues, crypto.randomUUID, and crypto.subtle with
// digest (SHA-1/256/384/512) and HMAC (importKey raw/jwk, exportKey,
// generateKey, sign, verify). Other algorithms and methods reject with a
// NotSupportedError.
// DOMException, btoa and atob (lazy layers) are read from k when used, so
// that crypto.randomUUID() and the like load neither.
const {
  internalSymbol,
  illegalConstructorKey,
  customInspect,
  configureInterface,
  requiredArguments,
  toDOMString,
  toBoolean,
  toDictionary,
  toSequence,
  toUnsignedLong,
  enumValue,
  ArrayBufferIsView,
  isTypedArray,
  copyBufferSource,
  viewBuffer,
  PromiseResolve,
  PromiseReject,
} = k;

const integerArrayTags = new Set([
  "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array",
  "Int32Array", "Uint32Array", "BigInt64Array", "BigUint64Array",
]);
const typedArrayTag = Object.getOwnPropertyDescriptor(k.TypedArrayPrototype, Symbol.toStringTag).get;

// https://w3c.github.io/webcrypto/#crypto-interface
class Crypto {
  constructor(key = undefined) {
    if (key !== illegalConstructorKey) throw new TypeError("Illegal constructor");
  }

  get subtle() {
    checkCrypto(this);
    return subtle;
  }

  // https://w3c.github.io/webcrypto/#Crypto-method-getRandomValues
  getRandomValues(array) {
    checkCrypto(this);
    const prefix = "Failed to execute 'getRandomValues' on 'Crypto'";
    requiredArguments(arguments.length, 1, prefix);
    if (!ArrayBufferIsView(array)) {
      throw new TypeError(`${prefix}: parameter 1 is not of type 'ArrayBufferView'.`);
    }
    if (!isTypedArray(array) || !integerArrayTags.has(typedArrayTag.call(array))) {
      throw new k.DOMException(`${prefix}: The provided ArrayBufferView is of type '${isTypedArray(array) ? typedArrayTag.call(array) : "DataView"}', which is not an integer array type.`, "TypeMismatchError");
    }
    const n = array.byteLength;
    if (n > 65536) {
      throw new k.DOMException(`${prefix}: The ArrayBufferView's byte length (${n}) exceeds the number of bytes of entropy available via this API (65536).`, "QuotaExceededError");
    }
    if (n > 0) new Uint8Array(viewBuffer(array), array.byteOffset, n).set(ops.op_crypto_random(n));
    return array;
  }

  // https://w3c.github.io/webcrypto/#Crypto-method-randomUUID
  randomUUID() {
    checkCrypto(this);
    const b = ops.op_crypto_random(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex_ = hex ?? hexTable();
    let s = "";
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) s += "-";
      s += hex_[b[i]];
    }
    return s;
  }
}
configureInterface(Crypto);

// Byte → two hex digits, made on first use (not per VM start).
let hex;
function hexTable() {
  hex = [];
  for (let i = 0; i < 256; i++) hex.push((i < 16 ? "0" : "") + i.toString(16));
  return hex;
}

function checkCrypto(v) {
  if (v !== crypto) throw new TypeError("Illegal invocation: not a Crypto");
}

// ---- algorithms

const hashes = ["SHA-1", "SHA-256", "SHA-384", "SHA-512"];
// https://w3c.github.io/webcrypto/#hmac-operations: the default key
// length is the hash's block size.
const blockBits = { "SHA-1": 512, "SHA-256": 512, "SHA-384": 1024, "SHA-512": 1024 };
const jwkAlg = { "SHA-1": "HS1", "SHA-256": "HS256", "SHA-384": "HS384", "SHA-512": "HS512" };

// The algorithms each operation supports
// (https://w3c.github.io/webcrypto/#dfn-supportedAlgorithms).
const supported = {
  digest: hashes,
  sign: ["HMAC"],
  verify: ["HMAC"],
  importKey: ["HMAC"],
  generateKey: ["HMAC"],
  exportKey: ["HMAC"],
};

function notSupported(api, name) {
  return new k.DOMException(`crypto.subtle.${api}: unsupported algorithm "${name}"`, "NotSupportedError");
}

// https://w3c.github.io/webcrypto/#algorithm-normalization-normalize-an-algorithm
function normalizeAlgorithm(alg, op) {
  if (typeof alg === "string") return normalizeAlgorithm({ name: alg }, op);
  const prefix = `Failed to execute '${op}' on 'SubtleCrypto'`;
  if (alg === null || typeof alg !== "object") {
    throw new TypeError(`${prefix}: Algorithm: parameter is not an object or a string.`);
  }
  if (alg.name === undefined) {
    throw new TypeError(`${prefix}: Algorithm: name: Missing or not a string`);
  }
  const name = toDOMString(alg.name, prefix, "name");
  const upper = name.toUpperCase();
  const canonical = supported[op].find((n) => n.toUpperCase() === upper);
  if (canonical === undefined) throw notSupported(op, name);
  const out = { name: canonical };
  if (canonical === "HMAC" && (op === "importKey" || op === "generateKey")) {
    if (alg.hash === undefined) throw new TypeError(`${prefix}: HmacImportParams: hash: Missing`);
    out.hash = normalizeAlgorithm(alg.hash, "digest");
    if (alg.length !== undefined) out.length = toUnsignedLong(alg.length, prefix, "length", { enforceRange: true });
  }
  return out;
}

function bytesOf(v, prefix, context) {
  const bytes = copyBufferSource(v);
  if (bytes === undefined) {
    throw new TypeError(`${prefix}: ${context} is not of type '(ArrayBuffer or ArrayBufferView)'.`);
  }
  return bytes;
}

function checkUsages(usages, allowed, prefix) {
  const list = toSequence(usages, prefix, "keyUsages", (u) =>
    enumValue(u, ["encrypt", "decrypt", "sign", "verify", "deriveKey", "deriveBits", "wrapKey", "unwrapKey"], prefix, "keyUsages", "KeyUsage"));
  for (const u of list) {
    if (!allowed.includes(u)) throw new k.DOMException(`${prefix}: Cannot create a key using the specified key usages.`, "SyntaxError");
  }
  if (list.length === 0) {
    throw new k.DOMException(`${prefix}: Usages cannot be empty when creating a key.`, "SyntaxError");
  }
  return [...new Set(list)];
}

// ---- CryptoKey

const _type = internalSymbol("[[type]]");
const _extractable = internalSymbol("[[extractable]]");
const _algorithm = internalSymbol("[[algorithm]]");
const _usages = internalSymbol("[[usages]]");
const _handle = internalSymbol("[[handle]]");

// https://w3c.github.io/webcrypto/#cryptokey-interface
class CryptoKey {
  constructor(key = undefined) {
    if (key !== illegalConstructorKey) throw new TypeError("Illegal constructor");
  }
  get type() {
    checkKey(this);
    return this[_type];
  }
  get extractable() {
    checkKey(this);
    return this[_extractable];
  }
  get algorithm() {
    checkKey(this);
    return this[_algorithm];
  }
  get usages() {
    checkKey(this);
    return this[_usages];
  }
  [customInspect](inspect) {
    return `CryptoKey ${inspect({ type: this[_type], extractable: this[_extractable], algorithm: this[_algorithm], usages: this[_usages] })}`;
  }
}
configureInterface(CryptoKey);

function checkKey(v) {
  if (v === null || typeof v !== "object" || !(_handle in v)) throw new TypeError("Illegal invocation: not a CryptoKey");
}

function isCryptoKey(v) {
  return v !== null && typeof v === "object" && _handle in v;
}

function newHmacKey(bytes, hash, length, extractable, usages) {
  const key = new CryptoKey(illegalConstructorKey);
  key[_type] = "secret";
  key[_extractable] = extractable;
  key[_algorithm] = Object.freeze({ name: "HMAC", length, hash: Object.freeze({ name: hash }) });
  key[_usages] = Object.freeze(usages);
  key[_handle] = bytes;
  return key;
}

function base64urlEncode(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return k.btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function base64urlDecode(s, prefix) {
  if (/[^A-Za-z0-9_-]/.test(s)) throw new k.DOMException(`${prefix}: Invalid base64url encoding in JWK`, "DataError");
  const bin = k.atob(s.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// ---- SubtleCrypto

// https://w3c.github.io/webcrypto/#subtlecrypto-interface. Every method
// returns a promise, rejected on any error.
class SubtleCrypto {
  constructor(key = undefined) {
    if (key !== illegalConstructorKey) throw new TypeError("Illegal constructor");
  }

  // https://w3c.github.io/webcrypto/#SubtleCrypto-method-digest
  digest(algorithm, data) {
    return run(this, "digest", arguments.length, 2, () => {
      const alg = normalizeAlgorithm(algorithm, "digest");
      const bytes = bytesOf(data, "Failed to execute 'digest' on 'SubtleCrypto'", "parameter 2");
      return ops.op_crypto_digest(alg.name, bytes).buffer;
    });
  }

  // https://w3c.github.io/webcrypto/#SubtleCrypto-method-importKey
  importKey(format, keyData, algorithm, extractable, keyUsages) {
    return run(this, "importKey", arguments.length, 5, () => {
      const prefix = "Failed to execute 'importKey' on 'SubtleCrypto'";
      format = enumValue(format, ["raw", "spki", "pkcs8", "jwk"], prefix, "format", "KeyFormat");
      const alg = normalizeAlgorithm(algorithm, "importKey");
      extractable = toBoolean(extractable);
      const usages = checkUsages(keyUsages, ["sign", "verify"], prefix);
      let bytes;
      if (format === "raw") {
        bytes = bytesOf(keyData, prefix, "parameter 2");
      } else if (format === "jwk") {
        // https://w3c.github.io/webcrypto/#hmac-operations import "jwk"
        const jwk = toDictionary(keyData, prefix, "keyData");
        if (jwk.kty !== "oct") throw new k.DOMException(`${prefix}: The JWK "kty" member was not "oct"`, "DataError");
        if (typeof jwk.k !== "string") throw new k.DOMException(`${prefix}: The JWK "k" member is missing`, "DataError");
        bytes = base64urlDecode(jwk.k, prefix);
        if (jwk.alg !== undefined && jwk.alg !== jwkAlg[alg.hash.name]) {
          throw new k.DOMException(`${prefix}: The JWK "alg" member was inconsistent with that specified by the Web Crypto call`, "DataError");
        }
        if (jwk.use !== undefined && jwk.use !== "sig") {
          throw new k.DOMException(`${prefix}: The JWK "use" member was not "sig"`, "DataError");
        }
        if (jwk.key_ops !== undefined) {
          const keyOps = toSequence(jwk.key_ops, prefix, "key_ops", String);
          for (const u of usages) {
            if (!keyOps.includes(u)) {
              throw new k.DOMException(`${prefix}: The JWK "key_ops" member was inconsistent with the usages`, "DataError");
            }
          }
        }
        if (jwk.ext === false && extractable) {
          throw new k.DOMException(`${prefix}: The JWK "ext" member was false but the key is extractable`, "DataError");
        }
      } else {
        throw new k.DOMException(`crypto.subtle.importKey: format "${format}" is not supported for HMAC`, "NotSupportedError");
      }
      const bits = bytes.length * 8;
      if (bits === 0) throw new k.DOMException(`${prefix}: HMAC key data must not be empty`, "DataError");
      let length = bits;
      if (alg.length !== undefined) {
        if (alg.length > bits || alg.length <= bits - 8) {
          throw new k.DOMException(`${prefix}: The key length is inconsistent with the key data`, "DataError");
        }
        length = alg.length;
      }
      return newHmacKey(bytes, alg.hash.name, length, extractable, usages);
    });
  }

  // https://w3c.github.io/webcrypto/#SubtleCrypto-method-exportKey
  exportKey(format, key) {
    return run(this, "exportKey", arguments.length, 2, () => {
      const prefix = "Failed to execute 'exportKey' on 'SubtleCrypto'";
      format = enumValue(format, ["raw", "spki", "pkcs8", "jwk"], prefix, "format", "KeyFormat");
      if (!isCryptoKey(key)) throw new TypeError(`${prefix}: parameter 2 is not of type 'CryptoKey'.`);
      if (key[_algorithm].name !== "HMAC") throw notSupported("exportKey", key[_algorithm].name);
      if (!key[_extractable]) throw new k.DOMException(`${prefix}: key is not extractable`, "InvalidAccessError");
      if (format === "raw") return key[_handle].slice().buffer;
      if (format === "jwk") {
        return {
          kty: "oct",
          k: base64urlEncode(key[_handle]),
          alg: jwkAlg[key[_algorithm].hash.name],
          key_ops: [...key[_usages]],
          ext: key[_extractable],
        };
      }
      throw new k.DOMException(`crypto.subtle.exportKey: format "${format}" is not supported for HMAC`, "NotSupportedError");
    });
  }

  // https://w3c.github.io/webcrypto/#SubtleCrypto-method-generateKey
  generateKey(algorithm, extractable, keyUsages) {
    return run(this, "generateKey", arguments.length, 3, () => {
      const prefix = "Failed to execute 'generateKey' on 'SubtleCrypto'";
      const alg = normalizeAlgorithm(algorithm, "generateKey");
      extractable = toBoolean(extractable);
      const usages = checkUsages(keyUsages, ["sign", "verify"], prefix);
      const length = alg.length === undefined ? blockBits[alg.hash.name] : alg.length;
      if (length === 0) throw new k.DOMException(`${prefix}: HMAC key length must not be 0`, "OperationError");
      const bytes = ops.op_crypto_random(Math.ceil(length / 8));
      return newHmacKey(bytes, alg.hash.name, length, extractable, usages);
    });
  }

  // https://w3c.github.io/webcrypto/#SubtleCrypto-method-sign
  sign(algorithm, key, data) {
    return run(this, "sign", arguments.length, 3, () => {
      const prefix = "Failed to execute 'sign' on 'SubtleCrypto'";
      const alg = normalizeAlgorithm(algorithm, "sign");
      const bytes = bytesOf(data, prefix, "parameter 3");
      checkKeyFor(key, alg, "sign", prefix);
      return ops.op_crypto_sign(alg.name, key[_algorithm].hash.name, key[_handle], bytes).buffer;
    });
  }

  // https://w3c.github.io/webcrypto/#SubtleCrypto-method-verify
  verify(algorithm, key, signature, data) {
    return run(this, "verify", arguments.length, 4, () => {
      const prefix = "Failed to execute 'verify' on 'SubtleCrypto'";
      const alg = normalizeAlgorithm(algorithm, "verify");
      const sig = bytesOf(signature, prefix, "parameter 3");
      const bytes = bytesOf(data, prefix, "parameter 4");
      checkKeyFor(key, alg, "verify", prefix);
      return ops.op_crypto_verify(alg.name, key[_algorithm].hash.name, key[_handle], bytes, sig);
    });
  }

  encrypt() {
    return unsupported(this, "encrypt");
  }
  decrypt() {
    return unsupported(this, "decrypt");
  }
  deriveBits() {
    return unsupported(this, "deriveBits");
  }
  deriveKey() {
    return unsupported(this, "deriveKey");
  }
  wrapKey() {
    return unsupported(this, "wrapKey");
  }
  unwrapKey() {
    return unsupported(this, "unwrapKey");
  }
}
configureInterface(SubtleCrypto);

function checkKeyFor(key, alg, usage, prefix) {
  if (!isCryptoKey(key)) throw new TypeError(`${prefix}: parameter 2 is not of type 'CryptoKey'.`);
  if (key[_algorithm].name !== alg.name) {
    throw new k.DOMException(`${prefix}: key.algorithm does not match that of operation`, "InvalidAccessError");
  }
  if (!key[_usages].includes(usage)) {
    throw new k.DOMException(`${prefix}: key.usages does not permit this operation`, "InvalidAccessError");
  }
}

function run(self, op, length, required, steps) {
  if (self !== subtle) return PromiseReject(new TypeError("Illegal invocation: not a SubtleCrypto"));
  try {
    requiredArguments(length, required, `Failed to execute '${op}' on 'SubtleCrypto'`);
    return PromiseResolve(steps());
  } catch (e) {
    return PromiseReject(e);
  }
}

function unsupported(self, op) {
  if (self !== subtle) return PromiseReject(new TypeError("Illegal invocation: not a SubtleCrypto"));
  return PromiseReject(new k.DOMException(`crypto.subtle.${op} is not supported`, "NotSupportedError"));
}

const subtle = new SubtleCrypto(illegalConstructorKey);
const crypto = new Crypto(illegalConstructorKey);

return { crypto, Crypto, CryptoKey, SubtleCrypto, isCryptoKey };
