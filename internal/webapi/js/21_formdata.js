// FormData: https://xhr.spec.whatwg.org/#interface-formdata
//
// The entry list holds [name, value] pairs; a value is a string or a File.
// There is no DOM, so the form-element constructor argument is refused.

const _entries = k.internalSymbol("entry list");

// 08_blob.js is lazy: with it not loaded, no Blob exists.
function isBlob(v) {
  const Blob = k.ifLoaded("Blob");
  return Blob !== undefined && v instanceof Blob;
}

// https://xhr.spec.whatwg.org/#create-an-entry
function createEntry(name, value, filename, prefix) {
  name = k.toUSVString(name, prefix, "name");
  if (isBlob(value)) {
    const isFile = value instanceof k.File;
    if (!isFile || filename !== undefined) {
      const fname = filename !== undefined ? k.toUSVString(filename, prefix, "filename") : isFile ? value.name : "blob";
      const opts = { type: value.type };
      if (isFile) opts.lastModified = value.lastModified;
      value = new k.File([value], fname, opts);
    }
  } else {
    if (filename !== undefined) {
      throw new TypeError(`${prefix}: parameter 2 is not of type 'Blob'.`);
    }
    value = k.toUSVString(value, prefix, "value");
  }
  return [name, value];
}

class FormData {
  // https://xhr.spec.whatwg.org/#dom-formdata
  constructor(form = undefined, submitter = undefined) {
    if (form !== undefined) {
      throw new TypeError("Failed to construct 'FormData': parameter 1 is not of type 'HTMLFormElement' (there is no DOM).");
    }
    void submitter;
    this[_entries] = [];
  }

  append(name, value, filename = undefined) {
    k.webidlBrandCheck(this, _entries, "FormData");
    const prefix = "Failed to execute 'append' on 'FormData'";
    k.requiredArguments(arguments.length, 2, prefix);
    this[_entries].push(createEntry(name, value, arguments.length > 2 ? filename : undefined, prefix));
  }

  delete(name) {
    k.webidlBrandCheck(this, _entries, "FormData");
    const prefix = "Failed to execute 'delete' on 'FormData'";
    k.requiredArguments(arguments.length, 1, prefix);
    name = k.toUSVString(name, prefix, "name");
    const list = this[_entries];
    for (let i = 0; i < list.length; i++) if (list[i][0] === name) list.splice(i--, 1);
  }

  get(name) {
    k.webidlBrandCheck(this, _entries, "FormData");
    const prefix = "Failed to execute 'get' on 'FormData'";
    k.requiredArguments(arguments.length, 1, prefix);
    name = k.toUSVString(name, prefix, "name");
    for (const e of this[_entries]) if (e[0] === name) return e[1];
    return null;
  }

  getAll(name) {
    k.webidlBrandCheck(this, _entries, "FormData");
    const prefix = "Failed to execute 'getAll' on 'FormData'";
    k.requiredArguments(arguments.length, 1, prefix);
    name = k.toUSVString(name, prefix, "name");
    const out = [];
    for (const e of this[_entries]) if (e[0] === name) out.push(e[1]);
    return out;
  }

  has(name) {
    k.webidlBrandCheck(this, _entries, "FormData");
    const prefix = "Failed to execute 'has' on 'FormData'";
    k.requiredArguments(arguments.length, 1, prefix);
    name = k.toUSVString(name, prefix, "name");
    for (const e of this[_entries]) if (e[0] === name) return true;
    return false;
  }

  // https://xhr.spec.whatwg.org/#dom-formdata-set: replace the first
  // entry of name, drop the others, or append.
  set(name, value, filename = undefined) {
    k.webidlBrandCheck(this, _entries, "FormData");
    const prefix = "Failed to execute 'set' on 'FormData'";
    k.requiredArguments(arguments.length, 2, prefix);
    const entry = createEntry(name, value, arguments.length > 2 ? filename : undefined, prefix);
    const list = this[_entries];
    let found = false;
    for (let i = 0; i < list.length; i++) {
      if (list[i][0] !== entry[0]) continue;
      if (!found) {
        list[i] = entry;
        found = true;
      } else {
        list.splice(i--, 1);
      }
    }
    if (!found) list.push(entry);
  }

  forEach(callback, thisArg = undefined) {
    k.webidlBrandCheck(this, _entries, "FormData");
    const prefix = "Failed to execute 'forEach' on 'FormData'";
    k.requiredArguments(arguments.length, 1, prefix);
    k.toCallback(callback, prefix, "Argument 1");
    const list = this[_entries];
    for (let i = 0; i < list.length; i++) callback.call(thisArg, list[i][1], list[i][0], this);
  }

  keys() {
    k.webidlBrandCheck(this, _entries, "FormData");
    return new FormDataIterator(this[_entries], "key");
  }

  values() {
    k.webidlBrandCheck(this, _entries, "FormData");
    return new FormDataIterator(this[_entries], "value");
  }

  entries() {
    k.webidlBrandCheck(this, _entries, "FormData");
    return new FormDataIterator(this[_entries], "key+value");
  }
}
FormData.prototype[Symbol.iterator] = FormData.prototype.entries;
k.configureInterface(FormData);

// https://webidl.spec.whatwg.org/#es-default-iterator-object over the live
// entry list.
const IteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));
const _list = k.internalSymbol("list");
const _kind = k.internalSymbol("kind");
const _index = k.internalSymbol("index");
class FormDataIterator {
  constructor(list, kind) {
    this[_list] = list;
    this[_kind] = kind;
    this[_index] = 0;
  }
  next() {
    k.webidlBrandCheck(this, _list, "FormData Iterator");
    const i = this[_index];
    const list = this[_list];
    if (i >= list.length) return { value: undefined, done: true };
    this[_index] = i + 1;
    const [n, v] = list[i];
    const kind = this[_kind];
    return { value: kind === "key" ? n : kind === "value" ? v : [n, v], done: false };
  }
}
Object.setPrototypeOf(FormDataIterator.prototype, IteratorPrototype);
Object.defineProperty(FormDataIterator.prototype, Symbol.toStringTag, {
  value: "FormData Iterator", writable: false, enumerable: false, configurable: true,
});

function formDataEntries(fd) {
  return fd[_entries];
}

function isFormData(v) {
  return v !== null && typeof v === "object" && _entries in v;
}

// newFormData builds a FormData from parsed entries without re-validating.
function newFormData(entries) {
  const fd = new FormData();
  fd[_entries] = entries;
  return fd;
}

// ---- FormData bodies (22_body.js): a FormData sent as a body, and
// body.formData().

function randomBoundary() {
  let s = "----KumoFormBoundary";
  for (let i = 0; i < 16; i++) s += "0123456789abcdef"[Math.floor(Math.random() * 16)];
  return s;
}

// https://html.spec.whatwg.org/multipage/form-control-infrastructure.html#multipart-form-data
function escapeMultipartName(s) {
  return s.replace(/\n/g, "%0A").replace(/\r/g, "%0D").replace(/"/g, "%22");
}
function toCRLF(s) {
  return s.replace(/\r\n|\r|\n/g, "\r\n");
}

// formDataBody returns the parts of a FormData's multipart/form-data body
// (strings and Files) and its content type.
function formDataBody(fd) {
  const boundary = randomBoundary();
  const parts = [];
  let text = "";
  for (const [name, value] of fd[_entries]) {
    text += `--${boundary}\r\nContent-Disposition: form-data; name="${escapeMultipartName(toCRLF(name))}"`;
    if (typeof value === "string") {
      text += `\r\n\r\n${toCRLF(value)}\r\n`;
    } else {
      const type = value.type === "" ? "application/octet-stream" : value.type;
      text += `; filename="${escapeMultipartName(value.name)}"\r\nContent-Type: ${type}\r\n\r\n`;
      parts.push(text, value);
      text = "\r\n";
    }
  }
  text += `--${boundary}--\r\n`;
  parts.push(text);
  return [parts, "multipart/form-data; boundary=" + boundary];
}

// https://mimesniff.spec.whatwg.org/#parsing-a-mime-type, reduced to what
// bodies need: the essence and one parameter.
function mimeEssence(ct) {
  if (ct === null) return "";
  const semi = ct.indexOf(";");
  return (semi === -1 ? ct : ct.slice(0, semi)).trim().toLowerCase();
}

function mimeParam(ct, want) {
  const re = /;\s*([^=;\s]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^;]*)/g;
  let m;
  while ((m = re.exec(ct)) !== null) {
    if (m[1].toLowerCase() !== want) continue;
    return m[3] !== undefined ? m[3].replace(/\\(.)/g, "$1") : m[2].trim();
  }
  return null;
}

// https://fetch.spec.whatwg.org/#dom-body-formdata: bodyFormData parses a
// body whose content type is ct; consume(asText) reads it whole (as a
// string or bytes).
async function bodyFormData(ct, consume, prefix) {
  const essence = mimeEssence(ct);
  if (essence === "multipart/form-data") {
    const boundary = mimeParam(ct, "boundary");
    if (boundary === null || boundary === "") {
      throw new TypeError(`${prefix}: multipart/form-data content type has no boundary.`);
    }
    const bytes = await consume(false);
    let flat;
    try {
      flat = ops.op_formdata_parse(bytes, boundary);
    } catch (e) {
      throw new TypeError(`${prefix}: ${e.message}`);
    }
    const entries = [];
    for (let i = 0; i < flat.length; i += 4) {
      const value = flat[i + 1] === null ? flat[i + 3] : new k.File([flat[i + 3]], flat[i + 1], { type: flat[i + 2] });
      entries.push([flat[i], value]);
    }
    return newFormData(entries);
  }
  if (essence === "application/x-www-form-urlencoded") {
    const text = await consume(true);
    return newFormData(k.parseUrlencoded(text));
  }
  // The body is still consumed, as in the spec.
  await consume(false);
  throw new TypeError(`${prefix}: content type ${ct === null ? "(none)" : `"${ct}"`} is neither multipart/form-data nor application/x-www-form-urlencoded.`);
}

return { FormData, formDataEntries, isFormData, newFormData, formDataBody, bodyFormData };
