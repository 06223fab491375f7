// DOMException: https://webidl.spec.whatwg.org/#idl-DOMException
// The Go engine throws op errors through the global DOMException as
// `new DOMException(message, name)`.
const { configureInterface, toDOMString, toDictionary } = k;

// https://webidl.spec.whatwg.org/#dfn-error-names-table
const codes = {
  IndexSizeError: 1,
  HierarchyRequestError: 3,
  WrongDocumentError: 4,
  InvalidCharacterError: 5,
  NoModificationAllowedError: 7,
  NotFoundError: 8,
  NotSupportedError: 9,
  InUseAttributeError: 10,
  InvalidStateError: 11,
  SyntaxError: 12,
  InvalidModificationError: 13,
  NamespaceError: 14,
  InvalidAccessError: 15,
  TypeMismatchError: 17,
  SecurityError: 18,
  NetworkError: 19,
  AbortError: 20,
  URLMismatchError: 21,
  QuotaExceededError: 22,
  TimeoutError: 23,
  InvalidNodeTypeError: 24,
  DataCloneError: 25,
};

const prefix = "Failed to construct 'DOMException'";

class DOMException extends Error {
  #message;
  #name;
  #code;

  // https://webidl.spec.whatwg.org/#dom-domexception-domexception; the
  // second argument may also be an options bag { name, cause } (Node).
  constructor(message = "", options = "Error") {
    super();
    this.#message = toDOMString(message, prefix, "Argument 1");
    if (options !== null && typeof options === "object") {
      const o = toDictionary(options, prefix, "Argument 2");
      this.#name = o.name === undefined ? "Error" : toDOMString(o.name, prefix, "name");
      if ("cause" in o) {
        Object.defineProperty(this, "cause", { value: o.cause, writable: true, enumerable: false, configurable: true });
      }
    } else {
      this.#name = toDOMString(options, prefix, "Argument 2");
    }
    this.#code = codes[this.#name] ?? 0;
  }

  get message() {
    check(this);
    return this.#message;
  }

  get name() {
    check(this);
    return this.#name;
  }

  get code() {
    check(this);
    return this.#code;
  }

  static isDOMException(v) {
    return v !== null && typeof v === "object" && #name in v;
  }
}

function check(e) {
  if (!isDOMException(e)) throw new TypeError("Illegal invocation: not a DOMException");
}

const isDOMException = DOMException.isDOMException;
delete DOMException.isDOMException;

// The legacy code constants, on the constructor and the prototype.
const legacy = [
  "INDEX_SIZE_ERR", "DOMSTRING_SIZE_ERR", "HIERARCHY_REQUEST_ERR", "WRONG_DOCUMENT_ERR",
  "INVALID_CHARACTER_ERR", "NO_DATA_ALLOWED_ERR", "NO_MODIFICATION_ALLOWED_ERR", "NOT_FOUND_ERR",
  "NOT_SUPPORTED_ERR", "INUSE_ATTRIBUTE_ERR", "INVALID_STATE_ERR", "SYNTAX_ERR",
  "INVALID_MODIFICATION_ERR", "NAMESPACE_ERR", "INVALID_ACCESS_ERR", "VALIDATION_ERR",
  "TYPE_MISMATCH_ERR", "SECURITY_ERR", "NETWORK_ERR", "ABORT_ERR", "URL_MISMATCH_ERR",
  "QUOTA_EXCEEDED_ERR", "TIMEOUT_ERR", "INVALID_NODE_TYPE_ERR", "DATA_CLONE_ERR",
];
const descriptors = {};
for (let i = 0; i < legacy.length; i++) {
  descriptors[legacy[i]] = { value: i + 1, enumerable: true };
}
Object.defineProperties(DOMException, descriptors);
Object.defineProperties(DOMException.prototype, descriptors);
configureInterface(DOMException);

return { DOMException, isDOMException };
