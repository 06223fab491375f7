// Streams: https://streams.spec.whatwg.org/
// ReadableStream (default controller and reader; a "bytes" source gets a
// byte controller that accepts views, read through a default reader: there
// is no BYOB reader), WritableStream, TransformStream, the queuing
// strategies, and TextEncoderStream/TextDecoderStream
// (https://encoding.spec.whatwg.org/#interface-textencoderstream).
//
// Functions are named after the spec's abstract operations; internal slots
// are module-private symbols.
const {
  internalSymbol,
  illegalConstructorKey,
  customInspect,
  configureInterface,
  requiredArguments,
  toDictionary,
  toBoolean,
  toCallback,
  toDOMString,
  toUnrestrictedDouble,
  enumValue,
  isArrayBuffer,
  bufferSourceView,
  viewBuffer,
  ArrayBufferIsView,
  PromiseResolve,
  PromiseReject,
  PromisePrototypeThen,
  ReflectApply,
  SymbolIterator,
  SymbolAsyncIterator,
  uponPromise,
  markHandled,
  AbortController,
  abortSignalAdd,
  abortSignalRemove,
  signalAbort,
  TextEncoder,
  TextDecoder,
} = k;

const PromiseCtor = Promise;
const PromiseAll = Promise.all.bind(Promise);
const arrayBufferTransfer = ArrayBuffer.prototype.transfer;

// ---- promise helpers

// A promise whose settlement the spec checks ("if promise is pending").
function newDeferred() {
  const d = { promise: undefined, resolve: undefined, reject: undefined, settled: false };
  d.promise = new PromiseCtor((resolve, reject) => {
    d.resolve = (v) => {
      d.settled = true;
      resolve(v);
    };
    d.reject = (e) => {
      d.settled = true;
      reject(e);
    };
  });
  return d;
}

function resolvedDeferred(v) {
  return { promise: PromiseResolve(v), resolve: noop, reject: noop, settled: true };
}

function rejectedDeferred(e) {
  const p = PromiseReject(e);
  markHandled(p);
  return { promise: p, resolve: noop, reject: noop, settled: true };
}

function noop() {}

function then(promise, onFulfilled, onRejected) {
  return ReflectApply(PromisePrototypeThen, promise, [onFulfilled, onRejected]);
}

function uponFulfillment(promise, f) {
  uponPromise(promise, f, undefined);
}

function uponRejection(promise, f) {
  uponPromise(promise, undefined, f);
}

// https://webidl.spec.whatwg.org/#invoke-a-callback-function, converted
// to a promise.
function promiseCall(fn, thisArg, ...args) {
  try {
    return PromiseResolve(ReflectApply(fn, thisArg, args));
  } catch (e) {
    return PromiseReject(e);
  }
}

const resolvedUndefined = () => PromiseResolve(undefined);

// ---- queues

// A FIFO with amortized O(1) shift.
class Queue {
  constructor() {
    this.items = [];
    this.head = 0;
  }
  get length() {
    return this.items.length - this.head;
  }
  push(v) {
    this.items.push(v);
  }
  shift() {
    const items = this.items;
    const v = items[this.head];
    items[this.head++] = undefined;
    if (this.head === items.length) {
      items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > items.length) {
      this.items = items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
  peek() {
    return this.items[this.head];
  }
}

const _queue = internalSymbol("[[queue]]");
const _queueTotalSize = internalSymbol("[[queueTotalSize]]");

// https://streams.spec.whatwg.org/#queue-with-sizes: values and sizes
// alternate in one Queue.
function dequeueValue(container) {
  const q = container[_queue];
  const value = q.shift();
  const size = q.shift();
  container[_queueTotalSize] -= size;
  if (container[_queueTotalSize] < 0) container[_queueTotalSize] = 0;
  return value;
}

function enqueueValueWithSize(container, value, size) {
  if (typeof size !== "number" || size !== size || size < 0 || size === Infinity) {
    throw new RangeError("The return value of a queuing strategy's size function must be a finite, non-NaN, non-negative number");
  }
  container[_queue].push(value);
  container[_queue].push(size);
  container[_queueTotalSize] += size;
}

function peekQueueValue(container) {
  return container[_queue].peek();
}

function resetQueue(container) {
  container[_queue] = new Queue();
  container[_queueTotalSize] = 0;
}

function queueIsEmpty(container) {
  return container[_queue].length === 0;
}

// ---- strategies

// https://streams.spec.whatwg.org/#validate-and-normalize-high-water-mark
function extractHighWaterMark(strategy, defaultHWM) {
  const hwm = strategy.highWaterMark;
  if (hwm === undefined) return defaultHWM;
  const x = toUnrestrictedDouble(hwm);
  if (x !== x || x < 0) throw new RangeError("Invalid highWaterMark");
  return x;
}

// https://streams.spec.whatwg.org/#make-size-algorithm-from-size-function;
// undefined stands for the default algorithm that returns 1.
function extractSizeAlgorithm(strategy, prefix) {
  const size = strategy.size;
  if (size === undefined) return undefined;
  toCallback(size, prefix, "strategy.size");
  return (chunk) => toUnrestrictedDouble(ReflectApply(size, undefined, [chunk]));
}

function readStrategy(strategy, prefix, context) {
  strategy = toDictionary(strategy, prefix, context);
  const highWaterMark = strategy.highWaterMark;
  const size = strategy.size;
  if (size !== undefined) toCallback(size, prefix, `${context}.size`);
  return { highWaterMark: highWaterMark === undefined ? undefined : toUnrestrictedDouble(highWaterMark), size };
}

const _highWaterMark = internalSymbol("[[highWaterMark]]");

function readHighWaterMarkInit(init, prefix) {
  init = toDictionary(init, prefix, "Argument 1");
  if (init.highWaterMark === undefined) {
    throw new TypeError(`${prefix}: Failed to read the 'highWaterMark' property from 'QueuingStrategyInit': Required member is undefined.`);
  }
  return toUnrestrictedDouble(init.highWaterMark);
}

const byteLengthSize = ({ size(chunk) { return chunk.byteLength; } }).size;
const countSize = ({ size() { return 1; } }).size;

// https://streams.spec.whatwg.org/#blqs-class
class ByteLengthQueuingStrategy {
  constructor(init) {
    const prefix = "Failed to construct 'ByteLengthQueuingStrategy'";
    requiredArguments(arguments.length, 1, prefix);
    this[_highWaterMark] = readHighWaterMarkInit(init, prefix);
  }
  get highWaterMark() {
    brand(this, _highWaterMark, "ByteLengthQueuingStrategy");
    return this[_highWaterMark];
  }
  get size() {
    brand(this, _highWaterMark, "ByteLengthQueuingStrategy");
    return byteLengthSize;
  }
}
configureInterface(ByteLengthQueuingStrategy);

// https://streams.spec.whatwg.org/#cqs-class
class CountQueuingStrategy {
  constructor(init) {
    const prefix = "Failed to construct 'CountQueuingStrategy'";
    requiredArguments(arguments.length, 1, prefix);
    this[_highWaterMark] = readHighWaterMarkInit(init, prefix);
  }
  get highWaterMark() {
    brand(this, _highWaterMark, "CountQueuingStrategy");
    return this[_highWaterMark];
  }
  get size() {
    brand(this, _highWaterMark, "CountQueuingStrategy");
    return countSize;
  }
}
configureInterface(CountQueuingStrategy);

function brand(v, slot, name) {
  if (v === null || typeof v !== "object" || !(slot in v)) {
    throw new TypeError(`Illegal invocation: not a ${name}`);
  }
}

// ---- ReadableStream

const _state = internalSymbol("[[state]]");
const _reader = internalSymbol("[[reader]]");
const _storedError = internalSymbol("[[storedError]]");
const _disturbed = internalSymbol("[[disturbed]]");
const _controller = internalSymbol("[[controller]]");

const _stream = internalSymbol("[[stream]]");
const _started = internalSymbol("[[started]]");
const _closeRequested = internalSymbol("[[closeRequested]]");
const _pullAgain = internalSymbol("[[pullAgain]]");
const _pulling = internalSymbol("[[pulling]]");
const _strategyHWM = internalSymbol("[[strategyHWM]]");
const _strategySizeAlgorithm = internalSymbol("[[strategySizeAlgorithm]]");
const _pullAlgorithm = internalSymbol("[[pullAlgorithm]]");
const _cancelAlgorithm = internalSymbol("[[cancelAlgorithm]]");
const _isBytes = internalSymbol("[[isBytes]]");

const _closedPromise = internalSymbol("[[closedPromise]]");
const _readRequests = internalSymbol("[[readRequests]]");

// https://streams.spec.whatwg.org/#rs-class
class ReadableStream {
  constructor(underlyingSource = undefined, strategy = undefined) {
    const prefix = "Failed to construct 'ReadableStream'";
    if (underlyingSource === undefined) underlyingSource = null;
    if (underlyingSource !== null && typeof underlyingSource !== "object" && typeof underlyingSource !== "function") {
      throw new TypeError(`${prefix}: parameter 1 is not an object.`);
    }
    const strat = readStrategy(strategy, prefix, "Argument 2");
    const source = readUnderlyingSource(underlyingSource, prefix);
    initializeReadableStream(this);
    if (source.type === "bytes") {
      if (strat.size !== undefined) {
        throw new RangeError(`${prefix}: The strategy for a byte stream cannot have a size function`);
      }
      const hwm = extractHighWaterMark(strat, 0);
      setUpControllerFromUnderlyingSource(this, underlyingSource, source, hwm, byteChunkSize, true);
    } else {
      const sizeAlgorithm = extractSizeAlgorithm(strat, prefix);
      const hwm = extractHighWaterMark(strat, 1);
      setUpControllerFromUnderlyingSource(this, underlyingSource, source, hwm, sizeAlgorithm, false);
    }
  }

  get locked() {
    checkReadableStream(this);
    return isReadableStreamLocked(this);
  }

  // https://streams.spec.whatwg.org/#rs-cancel
  cancel(reason = undefined) {
    if (!isReadableStream(this)) return PromiseReject(new TypeError("Illegal invocation: not a ReadableStream"));
    if (isReadableStreamLocked(this)) {
      return PromiseReject(new TypeError("Failed to execute 'cancel' on 'ReadableStream': Cannot cancel a locked stream"));
    }
    return readableStreamCancel(this, reason);
  }

  // https://streams.spec.whatwg.org/#rs-get-reader
  getReader(options = undefined) {
    checkReadableStream(this);
    const prefix = "Failed to execute 'getReader' on 'ReadableStream'";
    const o = toDictionary(options, prefix, "Argument 1");
    if (o.mode !== undefined) {
      enumValue(o.mode, ["byob"], prefix, "mode", "ReadableStreamReaderMode");
      throw new TypeError(`${prefix}: BYOB readers are not supported`);
    }
    return acquireReadableStreamDefaultReader(this);
  }

  // https://streams.spec.whatwg.org/#rs-pipe-through
  pipeThrough(transform, options = undefined) {
    checkReadableStream(this);
    const prefix = "Failed to execute 'pipeThrough' on 'ReadableStream'";
    requiredArguments(arguments.length, 1, prefix);
    transform = toDictionary(transform, prefix, "Argument 1");
    const readable = transform.readable;
    if (!isReadableStream(readable)) {
      throw new TypeError(`${prefix}: Failed to read the 'readable' property from 'ReadableWritablePair': parameter is not of type 'ReadableStream'.`);
    }
    const writable = transform.writable;
    if (!isWritableStream(writable)) {
      throw new TypeError(`${prefix}: Failed to read the 'writable' property from 'ReadableWritablePair': parameter is not of type 'WritableStream'.`);
    }
    const o = readPipeOptions(options, prefix);
    if (isReadableStreamLocked(this)) throw new TypeError(`${prefix}: The stream is locked.`);
    if (isWritableStreamLocked(writable)) throw new TypeError(`${prefix}: The destination stream is locked.`);
    const promise = readableStreamPipeTo(this, writable, o.preventClose, o.preventAbort, o.preventCancel, o.signal);
    markHandled(promise);
    return readable;
  }

  // https://streams.spec.whatwg.org/#rs-pipe-to
  pipeTo(destination, options = undefined) {
    if (!isReadableStream(this)) return PromiseReject(new TypeError("Illegal invocation: not a ReadableStream"));
    const prefix = "Failed to execute 'pipeTo' on 'ReadableStream'";
    let o;
    try {
      requiredArguments(arguments.length, 1, prefix);
      if (!isWritableStream(destination)) {
        throw new TypeError(`${prefix}: parameter 1 is not of type 'WritableStream'.`);
      }
      o = readPipeOptions(options, prefix);
    } catch (e) {
      return PromiseReject(e);
    }
    if (isReadableStreamLocked(this)) return PromiseReject(new TypeError(`${prefix}: The stream is locked.`));
    if (isWritableStreamLocked(destination)) {
      return PromiseReject(new TypeError(`${prefix}: The destination stream is locked.`));
    }
    return readableStreamPipeTo(this, destination, o.preventClose, o.preventAbort, o.preventCancel, o.signal);
  }

  // https://streams.spec.whatwg.org/#rs-tee
  tee() {
    checkReadableStream(this);
    return readableStreamTee(this);
  }

  // https://streams.spec.whatwg.org/#rs-asynciterator
  values(options = undefined) {
    checkReadableStream(this);
    const o = toDictionary(options, "Failed to execute 'values' on 'ReadableStream'", "Argument 1");
    const reader = acquireReadableStreamDefaultReader(this);
    const it = Object.create(readableStreamAsyncIteratorPrototype);
    it[_reader] = reader;
    it[_preventCancel] = toBoolean(o.preventCancel);
    it[_ongoing] = undefined;
    it[_finished] = false;
    return it;
  }

  // https://streams.spec.whatwg.org/#rs-from
  static from(asyncIterable) {
    requiredArguments(arguments.length, 1, "Failed to execute 'from' on 'ReadableStream'");
    return readableStreamFromIterable(asyncIterable);
  }

  [customInspect](inspect) {
    return `ReadableStream ${inspect({ locked: isReadableStreamLocked(this), state: this[_state], supportsBYOB: false })}`;
  }
}
ReadableStream.prototype[SymbolAsyncIterator] = ReadableStream.prototype.values;
Object.defineProperty(ReadableStream.prototype, SymbolAsyncIterator, { enumerable: false });
configureInterface(ReadableStream);

function readUnderlyingSource(underlyingSource, prefix) {
  if (underlyingSource === null) return {};
  const s = underlyingSource;
  const autoAllocateChunkSize = s.autoAllocateChunkSize;
  const cancel = s.cancel;
  if (cancel !== undefined) toCallback(cancel, prefix, "underlyingSource.cancel");
  const pull = s.pull;
  if (pull !== undefined) toCallback(pull, prefix, "underlyingSource.pull");
  const start = s.start;
  if (start !== undefined) toCallback(start, prefix, "underlyingSource.start");
  let type = s.type;
  if (type !== undefined) type = enumValue(type, ["bytes"], prefix, "underlyingSource.type", "ReadableStreamType");
  if (autoAllocateChunkSize !== undefined && type === "bytes") {
    const n = Number(autoAllocateChunkSize);
    if (!(n > 0)) throw new TypeError(`${prefix}: autoAllocateChunkSize must be greater than 0`);
  }
  return { cancel, pull, start, type };
}

function readPipeOptions(options, prefix) {
  const o = toDictionary(options, prefix, "options");
  const preventAbort = toBoolean(o.preventAbort);
  const preventCancel = toBoolean(o.preventCancel);
  const preventClose = toBoolean(o.preventClose);
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof k.AbortSignal)) {
    throw new TypeError(`${prefix}: Failed to read the 'signal' property from 'StreamPipeOptions': Failed to convert value to 'AbortSignal'.`);
  }
  return { preventAbort, preventCancel, preventClose, signal };
}

function isReadableStream(v) {
  return v !== null && typeof v === "object" && _controller in v && _reader in v;
}

function checkReadableStream(v) {
  if (!isReadableStream(v)) throw new TypeError("Illegal invocation: not a ReadableStream");
}

// https://streams.spec.whatwg.org/#initialize-readable-stream
function initializeReadableStream(stream) {
  stream[_state] = "readable";
  stream[_reader] = undefined;
  stream[_storedError] = undefined;
  stream[_disturbed] = false;
  stream[_controller] = undefined;
}

// https://streams.spec.whatwg.org/#create-readable-stream, for streams the
// platform makes (tee branches, TransformStream, ReadableStream.from).
function createReadableStream(startAlgorithm, pullAlgorithm, cancelAlgorithm, highWaterMark = 1, sizeAlgorithm = undefined) {
  const stream = Object.create(ReadableStream.prototype);
  initializeReadableStream(stream);
  const controller = Object.create(ReadableStreamDefaultController.prototype);
  setUpReadableStreamDefaultController(stream, controller, startAlgorithm, pullAlgorithm, cancelAlgorithm, highWaterMark, sizeAlgorithm);
  return stream;
}

function isReadableStreamLocked(stream) {
  return stream[_reader] !== undefined;
}

function isReadableStreamDisturbed(stream) {
  return stream[_disturbed];
}

// https://streams.spec.whatwg.org/#acquire-readable-stream-reader
function acquireReadableStreamDefaultReader(stream) {
  const reader = Object.create(ReadableStreamDefaultReader.prototype);
  setUpReadableStreamDefaultReader(reader, stream);
  return reader;
}

// https://streams.spec.whatwg.org/#readable-stream-cancel
function readableStreamCancel(stream, reason) {
  stream[_disturbed] = true;
  if (stream[_state] === "closed") return PromiseResolve(undefined);
  if (stream[_state] === "errored") return PromiseReject(stream[_storedError]);
  readableStreamClose(stream);
  const sourceCancelPromise = controllerCancelSteps(stream[_controller], reason);
  return then(sourceCancelPromise, noop);
}

// https://streams.spec.whatwg.org/#readable-stream-close
function readableStreamClose(stream) {
  stream[_state] = "closed";
  const reader = stream[_reader];
  if (reader === undefined) return;
  reader[_closedPromise].resolve(undefined);
  const requests = reader[_readRequests];
  if (requests.length > 0) {
    reader[_readRequests] = new Queue();
    while (requests.length > 0) requests.shift().close();
  }
}

// https://streams.spec.whatwg.org/#readable-stream-error
function readableStreamError(stream, e) {
  stream[_state] = "errored";
  stream[_storedError] = e;
  const reader = stream[_reader];
  if (reader === undefined) return;
  reader[_closedPromise].reject(e);
  markHandled(reader[_closedPromise].promise);
  readableStreamDefaultReaderErrorReadRequests(reader, e);
}

// https://streams.spec.whatwg.org/#readable-stream-add-read-request
function readableStreamAddReadRequest(stream, readRequest) {
  stream[_reader][_readRequests].push(readRequest);
}

// https://streams.spec.whatwg.org/#readable-stream-fulfill-read-request
function readableStreamFulfillReadRequest(stream, chunk, done) {
  const readRequest = stream[_reader][_readRequests].shift();
  if (done) readRequest.close();
  else readRequest.chunk(chunk);
}

function readableStreamGetNumReadRequests(stream) {
  return stream[_reader][_readRequests].length;
}

// ---- ReadableStreamDefaultReader

// A read() request: settles the promise read() returned.
class ReadRequest {
  constructor(resolve, reject) {
    this.resolve = resolve;
    this.reject = reject;
  }
  chunk(value) {
    this.resolve({ value, done: false });
  }
  close() {
    this.resolve({ value: undefined, done: true });
  }
  error(e) {
    this.reject(e);
  }
}

// https://streams.spec.whatwg.org/#default-reader-class
class ReadableStreamDefaultReader {
  constructor(stream) {
    requiredArguments(arguments.length, 1, "Failed to construct 'ReadableStreamDefaultReader'");
    if (!isReadableStream(stream)) {
      throw new TypeError("Failed to construct 'ReadableStreamDefaultReader': parameter 1 is not of type 'ReadableStream'.");
    }
    setUpReadableStreamDefaultReader(this, stream);
  }

  get closed() {
    if (!isDefaultReader(this)) return PromiseReject(new TypeError("Illegal invocation: not a ReadableStreamDefaultReader"));
    return this[_closedPromise].promise;
  }

  cancel(reason = undefined) {
    if (!isDefaultReader(this)) return PromiseReject(new TypeError("Illegal invocation: not a ReadableStreamDefaultReader"));
    if (this[_stream] === undefined) {
      return PromiseReject(new TypeError("Failed to execute 'cancel' on 'ReadableStreamDefaultReader': This readable stream reader has been released and cannot be used to cancel its previous owner stream"));
    }
    return readableStreamReaderGenericCancel(this, reason);
  }

  // https://streams.spec.whatwg.org/#default-reader-read
  read() {
    if (!isDefaultReader(this)) return PromiseReject(new TypeError("Illegal invocation: not a ReadableStreamDefaultReader"));
    if (this[_stream] === undefined) {
      return PromiseReject(new TypeError("Failed to execute 'read' on 'ReadableStreamDefaultReader': This readable stream reader has been released and cannot be used to read from its previous owner stream"));
    }
    let request;
    const promise = new PromiseCtor((resolve, reject) => {
      request = new ReadRequest(resolve, reject);
    });
    readableStreamDefaultReaderRead(this, request);
    return promise;
  }

  releaseLock() {
    if (!isDefaultReader(this)) throw new TypeError("Illegal invocation: not a ReadableStreamDefaultReader");
    if (this[_stream] === undefined) return;
    readableStreamDefaultReaderRelease(this);
  }
}
configureInterface(ReadableStreamDefaultReader);

function isDefaultReader(v) {
  return v !== null && typeof v === "object" && _readRequests in v;
}

// https://streams.spec.whatwg.org/#readable-stream-reader-generic-initialize
function readableStreamReaderGenericInitialize(reader, stream) {
  reader[_stream] = stream;
  stream[_reader] = reader;
  const state = stream[_state];
  if (state === "readable") reader[_closedPromise] = newDeferred();
  else if (state === "closed") reader[_closedPromise] = resolvedDeferred(undefined);
  else reader[_closedPromise] = rejectedDeferred(stream[_storedError]);
}

// https://streams.spec.whatwg.org/#readable-stream-reader-generic-cancel
function readableStreamReaderGenericCancel(reader, reason) {
  return readableStreamCancel(reader[_stream], reason);
}

// https://streams.spec.whatwg.org/#readable-stream-reader-generic-release
function readableStreamReaderGenericRelease(reader) {
  const stream = reader[_stream];
  const error = new TypeError("Reader was released");
  if (stream[_state] === "readable") reader[_closedPromise].reject(error);
  else reader[_closedPromise] = rejectedDeferred(error);
  markHandled(reader[_closedPromise].promise);
  stream[_reader] = undefined;
  reader[_stream] = undefined;
}

// https://streams.spec.whatwg.org/#set-up-readable-stream-default-reader
function setUpReadableStreamDefaultReader(reader, stream) {
  if (isReadableStreamLocked(stream)) {
    throw new TypeError("ReadableStream is locked: it already has a reader");
  }
  readableStreamReaderGenericInitialize(reader, stream);
  reader[_readRequests] = new Queue();
}

// https://streams.spec.whatwg.org/#readable-stream-default-reader-read
function readableStreamDefaultReaderRead(reader, readRequest) {
  const stream = reader[_stream];
  stream[_disturbed] = true;
  const state = stream[_state];
  if (state === "closed") readRequest.close();
  else if (state === "errored") readRequest.error(stream[_storedError]);
  else controllerPullSteps(stream[_controller], readRequest);
}

// https://streams.spec.whatwg.org/#abstract-opdef-readablestreamdefaultreaderrelease
function readableStreamDefaultReaderRelease(reader) {
  readableStreamReaderGenericRelease(reader);
  readableStreamDefaultReaderErrorReadRequests(reader, new TypeError("Reader was released"));
}

function readableStreamDefaultReaderErrorReadRequests(reader, e) {
  const requests = reader[_readRequests];
  if (requests.length === 0) return;
  reader[_readRequests] = new Queue();
  while (requests.length > 0) requests.shift().error(e);
}

// ---- ReadableStreamDefaultController

// https://streams.spec.whatwg.org/#rs-default-controller-class
class ReadableStreamDefaultController {
  constructor(key = undefined) {
    if (key !== illegalConstructorKey) throw new TypeError("Illegal constructor");
  }

  get desiredSize() {
    checkController(this, false);
    return controllerGetDesiredSize(this);
  }

  close() {
    checkController(this, false);
    if (!controllerCanCloseOrEnqueue(this)) {
      throw new TypeError("Failed to execute 'close' on 'ReadableStreamDefaultController': The stream is not in a state that permits close");
    }
    readableStreamDefaultControllerClose(this);
  }

  enqueue(chunk = undefined) {
    checkController(this, false);
    if (!controllerCanCloseOrEnqueue(this)) {
      throw new TypeError("Failed to execute 'enqueue' on 'ReadableStreamDefaultController': The stream is not in a state that permits enqueue");
    }
    readableStreamDefaultControllerEnqueue(this, chunk);
  }

  error(e = undefined) {
    checkController(this, false);
    readableStreamDefaultControllerError(this, e);
  }
}
configureInterface(ReadableStreamDefaultController);

// https://streams.spec.whatwg.org/#rbs-controller-class, without BYOB:
// byobRequest is always null and chunks go to default readers.
class ReadableByteStreamController {
  constructor(key = undefined) {
    if (key !== illegalConstructorKey) throw new TypeError("Illegal constructor");
  }

  get byobRequest() {
    checkController(this, true);
    return null;
  }

  get desiredSize() {
    checkController(this, true);
    return controllerGetDesiredSize(this);
  }

  close() {
    checkController(this, true);
    const prefix = "Failed to execute 'close' on 'ReadableByteStreamController'";
    if (this[_closeRequested]) throw new TypeError(`${prefix}: The stream is already closing`);
    if (this[_stream][_state] !== "readable") throw new TypeError(`${prefix}: The stream is not readable`);
    readableStreamDefaultControllerClose(this);
  }

  // https://streams.spec.whatwg.org/#rbs-controller-enqueue: the chunk's
  // buffer is transferred, so the caller's view is detached.
  enqueue(chunk) {
    checkController(this, true);
    const prefix = "Failed to execute 'enqueue' on 'ReadableByteStreamController'";
    requiredArguments(arguments.length, 1, prefix);
    if (!ArrayBufferIsView(chunk)) throw new TypeError(`${prefix}: parameter 1 is not of type 'ArrayBufferView'.`);
    const buffer = viewBuffer(chunk);
    if (chunk.byteLength === 0) throw new TypeError(`${prefix}: chunk is empty`);
    if (buffer.byteLength === 0) throw new TypeError(`${prefix}: chunk's buffer is detached`);
    if (this[_closeRequested]) throw new TypeError(`${prefix}: The stream is closing`);
    if (this[_stream][_state] !== "readable") throw new TypeError(`${prefix}: The stream is not readable`);
    const offset = chunk.byteOffset, length = chunk.byteLength;
    const transferred = ReflectApply(arrayBufferTransfer, buffer, []);
    readableStreamDefaultControllerEnqueue(this, new Uint8Array(transferred, offset, length));
  }

  error(e = undefined) {
    checkController(this, true);
    readableStreamDefaultControllerError(this, e);
  }
}
configureInterface(ReadableByteStreamController);

function byteChunkSize(chunk) {
  return chunk.byteLength;
}

function checkController(c, bytes) {
  if (c === null || typeof c !== "object" || !(_isBytes in c) || c[_isBytes] !== bytes) {
    throw new TypeError(`Illegal invocation: not a ${bytes ? "ReadableByteStreamController" : "ReadableStreamDefaultController"}`);
  }
}

// https://streams.spec.whatwg.org/#readable-stream-default-controller-call-pull-if-needed
function controllerCallPullIfNeeded(controller) {
  if (!controllerShouldCallPull(controller)) return;
  if (controller[_pulling]) {
    controller[_pullAgain] = true;
    return;
  }
  controller[_pulling] = true;
  uponPromise(controller[_pullAlgorithm](), () => {
    controller[_pulling] = false;
    if (controller[_pullAgain]) {
      controller[_pullAgain] = false;
      controllerCallPullIfNeeded(controller);
    }
  }, (e) => readableStreamDefaultControllerError(controller, e));
}

// https://streams.spec.whatwg.org/#readable-stream-default-controller-should-call-pull
function controllerShouldCallPull(controller) {
  if (!controllerCanCloseOrEnqueue(controller) || !controller[_started]) return false;
  const stream = controller[_stream];
  if (isReadableStreamLocked(stream) && readableStreamGetNumReadRequests(stream) > 0) return true;
  return controllerGetDesiredSize(controller) > 0;
}

function controllerClearAlgorithms(controller) {
  controller[_pullAlgorithm] = undefined;
  controller[_cancelAlgorithm] = undefined;
  controller[_strategySizeAlgorithm] = undefined;
}

// https://streams.spec.whatwg.org/#readable-stream-default-controller-close
function readableStreamDefaultControllerClose(controller) {
  if (!controllerCanCloseOrEnqueue(controller)) return;
  controller[_closeRequested] = true;
  if (queueIsEmpty(controller)) {
    controllerClearAlgorithms(controller);
    readableStreamClose(controller[_stream]);
  }
}

// https://streams.spec.whatwg.org/#readable-stream-default-controller-enqueue
function readableStreamDefaultControllerEnqueue(controller, chunk) {
  if (!controllerCanCloseOrEnqueue(controller)) return;
  const stream = controller[_stream];
  if (isReadableStreamLocked(stream) && readableStreamGetNumReadRequests(stream) > 0) {
    readableStreamFulfillReadRequest(stream, chunk, false);
  } else {
    const sizeAlgorithm = controller[_strategySizeAlgorithm];
    let size = 1;
    if (sizeAlgorithm !== undefined) {
      try {
        size = sizeAlgorithm(chunk);
      } catch (e) {
        readableStreamDefaultControllerError(controller, e);
        throw e;
      }
    }
    try {
      enqueueValueWithSize(controller, chunk, size);
    } catch (e) {
      readableStreamDefaultControllerError(controller, e);
      throw e;
    }
  }
  controllerCallPullIfNeeded(controller);
}

// https://streams.spec.whatwg.org/#readable-stream-default-controller-error
function readableStreamDefaultControllerError(controller, e) {
  const stream = controller[_stream];
  if (stream[_state] !== "readable") return;
  resetQueue(controller);
  controllerClearAlgorithms(controller);
  readableStreamError(stream, e);
}

// https://streams.spec.whatwg.org/#readable-stream-default-controller-get-desired-size
function controllerGetDesiredSize(controller) {
  const state = controller[_stream][_state];
  if (state === "errored") return null;
  if (state === "closed") return 0;
  return controller[_strategyHWM] - controller[_queueTotalSize];
}

function controllerHasBackpressure(controller) {
  return !controllerShouldCallPull(controller);
}

// https://streams.spec.whatwg.org/#readable-stream-default-controller-can-close-or-enqueue
function controllerCanCloseOrEnqueue(controller) {
  return !controller[_closeRequested] && controller[_stream][_state] === "readable";
}

// https://streams.spec.whatwg.org/#rs-default-controller-private-cancel
function controllerCancelSteps(controller, reason) {
  resetQueue(controller);
  const result = controller[_cancelAlgorithm](reason);
  controllerClearAlgorithms(controller);
  return result;
}

// https://streams.spec.whatwg.org/#rs-default-controller-private-pull
function controllerPullSteps(controller, readRequest) {
  const stream = controller[_stream];
  if (!queueIsEmpty(controller)) {
    const chunk = dequeueValue(controller);
    if (controller[_closeRequested] && queueIsEmpty(controller)) {
      controllerClearAlgorithms(controller);
      readableStreamClose(stream);
    } else {
      controllerCallPullIfNeeded(controller);
    }
    readRequest.chunk(chunk);
  } else {
    readableStreamAddReadRequest(stream, readRequest);
    controllerCallPullIfNeeded(controller);
  }
}

// https://streams.spec.whatwg.org/#set-up-readable-stream-default-controller
function setUpReadableStreamDefaultController(stream, controller, startAlgorithm, pullAlgorithm, cancelAlgorithm, highWaterMark, sizeAlgorithm, isBytes = false) {
  controller[_stream] = stream;
  controller[_isBytes] = isBytes;
  resetQueue(controller);
  controller[_started] = false;
  controller[_closeRequested] = false;
  controller[_pullAgain] = false;
  controller[_pulling] = false;
  controller[_strategySizeAlgorithm] = sizeAlgorithm;
  controller[_strategyHWM] = highWaterMark;
  controller[_pullAlgorithm] = pullAlgorithm;
  controller[_cancelAlgorithm] = cancelAlgorithm;
  stream[_controller] = controller;
  const startResult = startAlgorithm();
  uponPromise(PromiseResolve(startResult), () => {
    controller[_started] = true;
    controllerCallPullIfNeeded(controller);
  }, (r) => readableStreamDefaultControllerError(controller, r));
}

// https://streams.spec.whatwg.org/#set-up-readable-stream-default-controller-from-underlying-source
function setUpControllerFromUnderlyingSource(stream, underlyingSource, source, highWaterMark, sizeAlgorithm, isBytes) {
  const controller = isBytes
    ? new ReadableByteStreamController(illegalConstructorKey)
    : new ReadableStreamDefaultController(illegalConstructorKey);
  const { start, pull, cancel } = source;
  const startAlgorithm = start === undefined
    ? noop
    : () => ReflectApply(start, underlyingSource, [controller]);
  const pullAlgorithm = pull === undefined
    ? resolvedUndefined
    : () => promiseCall(pull, underlyingSource, controller);
  const cancelAlgorithm = cancel === undefined
    ? resolvedUndefined
    : (reason) => promiseCall(cancel, underlyingSource, reason);
  setUpReadableStreamDefaultController(stream, controller, startAlgorithm, pullAlgorithm, cancelAlgorithm, highWaterMark, sizeAlgorithm, isBytes);
}

// ---- tee

// https://streams.spec.whatwg.org/#readable-stream-default-tee; a byte
// stream's second branch gets copies of the chunks.
function readableStreamTee(stream) {
  const cloneForBranch2 = stream[_controller][_isBytes];
  const reader = acquireReadableStreamDefaultReader(stream);
  let reading = false, readAgain = false;
  let canceled1 = false, canceled2 = false;
  let reason1, reason2;
  let branch1, branch2;
  const cancelPromise = newDeferred();

  const readRequest = {
    chunk(chunk) {
      uponFulfillment(PromiseResolve(undefined), () => {
        readAgain = false;
        const chunk1 = chunk;
        const chunk2 = cloneForBranch2 ? chunk.slice() : chunk;
        if (!canceled1) readableStreamDefaultControllerEnqueue(branch1[_controller], chunk1);
        if (!canceled2) readableStreamDefaultControllerEnqueue(branch2[_controller], chunk2);
        reading = false;
        if (readAgain) pullAlgorithm();
      });
    },
    close() {
      reading = false;
      if (!canceled1) readableStreamDefaultControllerClose(branch1[_controller]);
      if (!canceled2) readableStreamDefaultControllerClose(branch2[_controller]);
      if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
    },
    error() {
      reading = false;
    },
  };

  function pullAlgorithm() {
    if (reading) {
      readAgain = true;
      return PromiseResolve(undefined);
    }
    reading = true;
    readableStreamDefaultReaderRead(reader, readRequest);
    return PromiseResolve(undefined);
  }

  function cancel1Algorithm(reason) {
    canceled1 = true;
    reason1 = reason;
    if (canceled2) cancelPromise.resolve(readableStreamCancel(stream, [reason1, reason2]));
    return cancelPromise.promise;
  }

  function cancel2Algorithm(reason) {
    canceled2 = true;
    reason2 = reason;
    if (canceled1) cancelPromise.resolve(readableStreamCancel(stream, [reason1, reason2]));
    return cancelPromise.promise;
  }

  branch1 = createReadableStream(noop, pullAlgorithm, cancel1Algorithm);
  branch2 = createReadableStream(noop, pullAlgorithm, cancel2Algorithm);
  branch1[_controller][_isBytes] = cloneForBranch2;
  branch2[_controller][_isBytes] = cloneForBranch2;
  uponRejection(reader[_closedPromise].promise, (r) => {
    readableStreamDefaultControllerError(branch1[_controller], r);
    readableStreamDefaultControllerError(branch2[_controller], r);
    if (!canceled1 || !canceled2) cancelPromise.resolve(undefined);
  });
  return [branch1, branch2];
}

// ---- async iteration

const _preventCancel = internalSymbol("[[preventCancel]]");
const _ongoing = internalSymbol("[[ongoingPromise]]");
const _finished = internalSymbol("[[isFinished]]");

const AsyncIteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}).prototype);

// https://webidl.spec.whatwg.org/#es-asynchronous-iterator-prototype-object
// with the stream's https://streams.spec.whatwg.org/#rs-asynciterator steps.
const readableStreamAsyncIteratorPrototype = Object.create(AsyncIteratorPrototype, {
  next: {
    value: function next() {
      if (this === null || typeof this !== "object" || !(_ongoing in this)) {
        return PromiseReject(new TypeError("Illegal invocation: not a ReadableStream async iterator"));
      }
      const it = this;
      const nextSteps = () => {
        if (it[_finished]) return PromiseResolve({ value: undefined, done: true });
        const reader = it[_reader];
        return new PromiseCtor((resolve, reject) => {
          readableStreamDefaultReaderRead(reader, {
            chunk(value) {
              it[_ongoing] = undefined;
              resolve({ value, done: false });
            },
            close() {
              it[_ongoing] = undefined;
              it[_finished] = true;
              readableStreamDefaultReaderRelease(reader);
              resolve({ value: undefined, done: true });
            },
            error(e) {
              it[_ongoing] = undefined;
              it[_finished] = true;
              readableStreamDefaultReaderRelease(reader);
              reject(e);
            },
          });
        });
      };
      const ongoing = it[_ongoing];
      it[_ongoing] = ongoing === undefined ? nextSteps() : then(ongoing, nextSteps, nextSteps);
      return it[_ongoing];
    },
    writable: true,
    enumerable: true,
    configurable: true,
  },
  return: {
    value: function return_(value = undefined) {
      if (this === null || typeof this !== "object" || !(_ongoing in this)) {
        return PromiseReject(new TypeError("Illegal invocation: not a ReadableStream async iterator"));
      }
      const it = this;
      const returnSteps = () => {
        if (it[_finished]) return PromiseResolve({ value, done: true });
        it[_finished] = true;
        const reader = it[_reader];
        if (reader[_stream] === undefined) return PromiseResolve({ value, done: true });
        if (!it[_preventCancel]) {
          const result = readableStreamReaderGenericCancel(reader, value);
          readableStreamDefaultReaderRelease(reader);
          return then(result, () => ({ value, done: true }));
        }
        readableStreamDefaultReaderRelease(reader);
        return PromiseResolve({ value, done: true });
      };
      const ongoing = it[_ongoing];
      return ongoing === undefined ? returnSteps() : then(ongoing, returnSteps, returnSteps);
    },
    writable: true,
    enumerable: true,
    configurable: true,
  },
  [Symbol.toStringTag]: { value: "ReadableStream AsyncIterator", configurable: true },
});

// ---- ReadableStream.from

// https://streams.spec.whatwg.org/#readable-stream-from-iterable
function readableStreamFromIterable(asyncIterable) {
  let iterator;
  const method = asyncIterable == null ? undefined : asyncIterable[SymbolAsyncIterator];
  if (method === undefined || method === null) {
    const syncMethod = asyncIterable == null ? undefined : asyncIterable[SymbolIterator];
    if (typeof syncMethod !== "function") {
      throw new TypeError("Failed to execute 'from' on 'ReadableStream': parameter 1 is not an async iterable or iterable");
    }
    const syncIterator = ReflectApply(syncMethod, asyncIterable, []);
    if (syncIterator === null || typeof syncIterator !== "object") {
      throw new TypeError("Failed to execute 'from' on 'ReadableStream': the iterator is not an object");
    }
    // CreateAsyncFromSyncIterator, through yield* in an async generator.
    iterator = (async function* () {
      yield* { [SymbolIterator]: () => syncIterator };
    })();
  } else {
    if (typeof method !== "function") {
      throw new TypeError("Failed to execute 'from' on 'ReadableStream': @@asyncIterator is not a function");
    }
    iterator = ReflectApply(method, asyncIterable, []);
    if (iterator === null || typeof iterator !== "object") {
      throw new TypeError("Failed to execute 'from' on 'ReadableStream': the iterator is not an object");
    }
  }
  const nextMethod = iterator.next;
  let stream;
  const pullAlgorithm = () => {
    let nextResult;
    try {
      nextResult = ReflectApply(nextMethod, iterator, []);
    } catch (e) {
      return PromiseReject(e);
    }
    return then(PromiseResolve(nextResult), (iterResult) => {
      if (iterResult === null || typeof iterResult !== "object") {
        throw new TypeError("The promise returned by the iterator.next() method must fulfill with an object");
      }
      if (iterResult.done) readableStreamDefaultControllerClose(stream[_controller]);
      else readableStreamDefaultControllerEnqueue(stream[_controller], iterResult.value);
    });
  };
  const cancelAlgorithm = (reason) => {
    let returnMethod;
    try {
      returnMethod = iterator.return;
    } catch (e) {
      return PromiseReject(e);
    }
    if (returnMethod === undefined || returnMethod === null) return PromiseResolve(undefined);
    let returnResult;
    try {
      returnResult = ReflectApply(returnMethod, iterator, [reason]);
    } catch (e) {
      return PromiseReject(e);
    }
    return then(PromiseResolve(returnResult), (r) => {
      if (r === null || typeof r !== "object") {
        throw new TypeError("The promise returned by the iterator.return() method must fulfill with an object");
      }
    });
  };
  stream = createReadableStream(noop, pullAlgorithm, cancelAlgorithm, 0);
  return stream;
}

// ---- pipeTo

// https://streams.spec.whatwg.org/#readable-stream-pipe-to
function readableStreamPipeTo(source, dest, preventClose, preventAbort, preventCancel, signal) {
  const reader = acquireReadableStreamDefaultReader(source);
  const writer = acquireWritableStreamDefaultWriter(dest);
  source[_disturbed] = true;
  let shuttingDown = false;
  let currentWrite = PromiseResolve(undefined);
  const promise = newDeferred();
  let abortAlgorithm;

  if (signal !== undefined) {
    abortAlgorithm = () => {
      const error = signal.reason;
      const actions = [];
      if (!preventAbort) {
        actions.push(() => dest[_state] === "writable" ? writableStreamAbort(dest, error) : PromiseResolve(undefined));
      }
      if (!preventCancel) {
        actions.push(() => source[_state] === "readable" ? readableStreamCancel(source, error) : PromiseResolve(undefined));
      }
      shutdownWithAction(() => PromiseAll(actions.map((a) => a())), true, error);
    };
    if (signal.aborted) {
      abortAlgorithm();
      return promise.promise;
    }
    abortSignalAdd(signal, abortAlgorithm);
  }

  function pipeLoop() {
    return new PromiseCtor((resolveLoop, rejectLoop) => {
      function next(done) {
        if (done) resolveLoop();
        else uponPromise(pipeStep(), next, rejectLoop);
      }
      next(false);
    });
  }

  function pipeStep() {
    if (shuttingDown) return PromiseResolve(true);
    return then(writer[_readyPromise].promise, () => new PromiseCtor((resolveRead, rejectRead) => {
      readableStreamDefaultReaderRead(reader, {
        chunk(chunk) {
          currentWrite = then(writableStreamDefaultWriterWrite(writer, chunk), undefined, noop);
          resolveRead(false);
        },
        close() {
          resolveRead(true);
        },
        error: rejectRead,
      });
    }));
  }

  // Errors must be propagated forward.
  isOrBecomesErrored(source, reader[_closedPromise].promise, (storedError) => {
    if (!preventAbort) shutdownWithAction(() => writableStreamAbort(dest, storedError), true, storedError);
    else shutdown(true, storedError);
  });
  // Errors must be propagated backward.
  isOrBecomesErrored(dest, writer[_closedPromise].promise, (storedError) => {
    if (!preventCancel) shutdownWithAction(() => readableStreamCancel(source, storedError), true, storedError);
    else shutdown(true, storedError);
  });
  // Closing must be propagated forward.
  isOrBecomesClosed(source, reader[_closedPromise].promise, () => {
    if (!preventClose) shutdownWithAction(() => writableStreamDefaultWriterCloseWithErrorPropagation(writer));
    else shutdown();
  });
  // Closing must be propagated backward.
  if (writableStreamCloseQueuedOrInFlight(dest) || dest[_state] === "closed") {
    const destClosed = new TypeError("the destination writable stream closed before all data could be piped to it");
    if (!preventCancel) shutdownWithAction(() => readableStreamCancel(source, destClosed), true, destClosed);
    else shutdown(true, destClosed);
  }
  markHandled(pipeLoop());
  return promise.promise;

  function waitForWritesToFinish() {
    const oldCurrentWrite = currentWrite;
    return then(currentWrite, () => oldCurrentWrite !== currentWrite ? waitForWritesToFinish() : undefined);
  }

  function isOrBecomesErrored(stream, p, action) {
    if (stream[_state] === "errored") action(stream[_storedError]);
    else uponRejection(p, action);
  }

  function isOrBecomesClosed(stream, p, action) {
    if (stream[_state] === "closed") action();
    else uponFulfillment(p, action);
  }

  function shutdownWithAction(action, originalIsError = false, originalError = undefined) {
    if (shuttingDown) return;
    shuttingDown = true;
    const doTheRest = () => {
      uponPromise(action(), () => finalize(originalIsError, originalError), (newError) => finalize(true, newError));
    };
    if (dest[_state] === "writable" && !writableStreamCloseQueuedOrInFlight(dest)) {
      uponFulfillment(waitForWritesToFinish(), doTheRest);
    } else {
      doTheRest();
    }
  }

  function shutdown(isError = false, error = undefined) {
    if (shuttingDown) return;
    shuttingDown = true;
    if (dest[_state] === "writable" && !writableStreamCloseQueuedOrInFlight(dest)) {
      uponFulfillment(waitForWritesToFinish(), () => finalize(isError, error));
    } else {
      finalize(isError, error);
    }
  }

  function finalize(isError, error) {
    writableStreamDefaultWriterRelease(writer);
    readableStreamDefaultReaderRelease(reader);
    if (signal !== undefined) abortSignalRemove(signal, abortAlgorithm);
    if (isError) promise.reject(error);
    else promise.resolve(undefined);
  }
}

// ---- WritableStream

const _writer = internalSymbol("[[writer]]");
const _inFlightWriteRequest = internalSymbol("[[inFlightWriteRequest]]");
const _closeRequest = internalSymbol("[[closeRequest]]");
const _inFlightCloseRequest = internalSymbol("[[inFlightCloseRequest]]");
const _pendingAbortRequest = internalSymbol("[[pendingAbortRequest]]");
const _writeRequests = internalSymbol("[[writeRequests]]");
const _backpressure = internalSymbol("[[backpressure]]");
const _readyPromise = internalSymbol("[[readyPromise]]");
const _abortController = internalSymbol("[[abortController]]");
const _writeAlgorithm = internalSymbol("[[writeAlgorithm]]");
const _closeAlgorithm = internalSymbol("[[closeAlgorithm]]");
const _abortAlgorithm = internalSymbol("[[abortAlgorithm]]");

const closeSentinel = {};

// https://streams.spec.whatwg.org/#ws-class
class WritableStream {
  constructor(underlyingSink = undefined, strategy = undefined) {
    const prefix = "Failed to construct 'WritableStream'";
    if (underlyingSink === undefined) underlyingSink = null;
    if (underlyingSink !== null && typeof underlyingSink !== "object" && typeof underlyingSink !== "function") {
      throw new TypeError(`${prefix}: parameter 1 is not an object.`);
    }
    const strat = readStrategy(strategy, prefix, "Argument 2");
    const sink = readUnderlyingSink(underlyingSink, prefix);
    if (sink.type !== undefined) throw new RangeError(`${prefix}: Invalid type is specified`);
    initializeWritableStream(this);
    const sizeAlgorithm = extractSizeAlgorithm(strat, prefix);
    const hwm = extractHighWaterMark(strat, 1);
    setUpWritableStreamDefaultControllerFromUnderlyingSink(this, underlyingSink, sink, hwm, sizeAlgorithm);
  }

  get locked() {
    checkWritableStream(this);
    return isWritableStreamLocked(this);
  }

  // https://streams.spec.whatwg.org/#ws-abort
  abort(reason = undefined) {
    if (!isWritableStream(this)) return PromiseReject(new TypeError("Illegal invocation: not a WritableStream"));
    if (isWritableStreamLocked(this)) {
      return PromiseReject(new TypeError("Failed to execute 'abort' on 'WritableStream': Cannot abort a locked stream"));
    }
    return writableStreamAbort(this, reason);
  }

  // https://streams.spec.whatwg.org/#ws-close
  close() {
    if (!isWritableStream(this)) return PromiseReject(new TypeError("Illegal invocation: not a WritableStream"));
    if (isWritableStreamLocked(this)) {
      return PromiseReject(new TypeError("Failed to execute 'close' on 'WritableStream': Cannot close a locked stream"));
    }
    if (writableStreamCloseQueuedOrInFlight(this)) {
      return PromiseReject(new TypeError("Failed to execute 'close' on 'WritableStream': Cannot close a stream that is already closing"));
    }
    return writableStreamClose(this);
  }

  getWriter() {
    checkWritableStream(this);
    return acquireWritableStreamDefaultWriter(this);
  }

  [customInspect](inspect) {
    return `WritableStream ${inspect({ locked: isWritableStreamLocked(this), state: this[_state] })}`;
  }
}
configureInterface(WritableStream);

function readUnderlyingSink(underlyingSink, prefix) {
  if (underlyingSink === null) return {};
  const s = underlyingSink;
  const abort = s.abort;
  if (abort !== undefined) toCallback(abort, prefix, "underlyingSink.abort");
  const close = s.close;
  if (close !== undefined) toCallback(close, prefix, "underlyingSink.close");
  const start = s.start;
  if (start !== undefined) toCallback(start, prefix, "underlyingSink.start");
  const type = s.type;
  const write = s.write;
  if (write !== undefined) toCallback(write, prefix, "underlyingSink.write");
  return { abort, close, start, type, write };
}

function isWritableStream(v) {
  return v !== null && typeof v === "object" && _writer in v;
}

function checkWritableStream(v) {
  if (!isWritableStream(v)) throw new TypeError("Illegal invocation: not a WritableStream");
}

function isWritableStreamLocked(stream) {
  return stream[_writer] !== undefined;
}

function acquireWritableStreamDefaultWriter(stream) {
  const writer = Object.create(WritableStreamDefaultWriter.prototype);
  setUpWritableStreamDefaultWriter(writer, stream);
  return writer;
}

// https://streams.spec.whatwg.org/#create-writable-stream
function createWritableStream(startAlgorithm, writeAlgorithm, closeAlgorithm, abortAlgorithm, highWaterMark, sizeAlgorithm) {
  const stream = Object.create(WritableStream.prototype);
  initializeWritableStream(stream);
  const controller = Object.create(WritableStreamDefaultController.prototype);
  setUpWritableStreamDefaultController(stream, controller, startAlgorithm, writeAlgorithm, closeAlgorithm, abortAlgorithm, highWaterMark, sizeAlgorithm);
  return stream;
}

// https://streams.spec.whatwg.org/#initialize-writable-stream
function initializeWritableStream(stream) {
  stream[_state] = "writable";
  stream[_storedError] = undefined;
  stream[_writer] = undefined;
  stream[_controller] = undefined;
  stream[_inFlightWriteRequest] = undefined;
  stream[_closeRequest] = undefined;
  stream[_inFlightCloseRequest] = undefined;
  stream[_pendingAbortRequest] = undefined;
  stream[_writeRequests] = new Queue();
  stream[_backpressure] = false;
}

// https://streams.spec.whatwg.org/#writable-stream-abort
function writableStreamAbort(stream, reason) {
  if (stream[_state] === "closed" || stream[_state] === "errored") return PromiseResolve(undefined);
  signalAbort(stream[_controller][_abortController].signal, reason);
  const state = stream[_state];
  if (state === "closed" || state === "errored") return PromiseResolve(undefined);
  if (stream[_pendingAbortRequest] !== undefined) return stream[_pendingAbortRequest].promise.promise;
  let wasAlreadyErroring = false;
  if (state === "erroring") {
    wasAlreadyErroring = true;
    reason = undefined;
  }
  const promise = newDeferred();
  stream[_pendingAbortRequest] = { promise, reason, wasAlreadyErroring };
  if (!wasAlreadyErroring) writableStreamStartErroring(stream, reason);
  return promise.promise;
}

// https://streams.spec.whatwg.org/#writable-stream-close
function writableStreamClose(stream) {
  const state = stream[_state];
  if (state === "closed" || state === "errored") {
    return PromiseReject(new TypeError(`The stream is ${state} and cannot be closed`));
  }
  const promise = newDeferred();
  stream[_closeRequest] = promise;
  const writer = stream[_writer];
  if (writer !== undefined && stream[_backpressure] && state === "writable") writer[_readyPromise].resolve(undefined);
  writableStreamDefaultControllerClose(stream[_controller]);
  return promise.promise;
}

function writableStreamAddWriteRequest(stream) {
  const promise = newDeferred();
  stream[_writeRequests].push(promise);
  return promise.promise;
}

// https://streams.spec.whatwg.org/#writable-stream-deal-with-rejection
function writableStreamDealWithRejection(stream, error) {
  if (stream[_state] === "writable") {
    writableStreamStartErroring(stream, error);
    return;
  }
  writableStreamFinishErroring(stream);
}

// https://streams.spec.whatwg.org/#writable-stream-start-erroring
function writableStreamStartErroring(stream, reason) {
  const controller = stream[_controller];
  stream[_state] = "erroring";
  stream[_storedError] = reason;
  const writer = stream[_writer];
  if (writer !== undefined) writableStreamDefaultWriterEnsureReadyPromiseRejected(writer, reason);
  if (!writableStreamHasOperationMarkedInFlight(stream) && controller[_started]) {
    writableStreamFinishErroring(stream);
  }
}

// https://streams.spec.whatwg.org/#writable-stream-finish-erroring
function writableStreamFinishErroring(stream) {
  stream[_state] = "errored";
  resetQueue(stream[_controller]);
  const storedError = stream[_storedError];
  const requests = stream[_writeRequests];
  stream[_writeRequests] = new Queue();
  while (requests.length > 0) requests.shift().reject(storedError);
  const abortRequest = stream[_pendingAbortRequest];
  if (abortRequest === undefined) {
    writableStreamRejectCloseAndClosedPromiseIfNeeded(stream);
    return;
  }
  stream[_pendingAbortRequest] = undefined;
  if (abortRequest.wasAlreadyErroring) {
    abortRequest.promise.reject(storedError);
    writableStreamRejectCloseAndClosedPromiseIfNeeded(stream);
    return;
  }
  const controller = stream[_controller];
  const promise = controller[_abortAlgorithm](abortRequest.reason);
  writableStreamDefaultControllerClearAlgorithms(controller);
  uponPromise(promise, () => {
    abortRequest.promise.resolve(undefined);
    writableStreamRejectCloseAndClosedPromiseIfNeeded(stream);
  }, (reason) => {
    abortRequest.promise.reject(reason);
    writableStreamRejectCloseAndClosedPromiseIfNeeded(stream);
  });
}

function writableStreamFinishInFlightWrite(stream) {
  stream[_inFlightWriteRequest].resolve(undefined);
  stream[_inFlightWriteRequest] = undefined;
}

function writableStreamFinishInFlightWriteWithError(stream, error) {
  stream[_inFlightWriteRequest].reject(error);
  stream[_inFlightWriteRequest] = undefined;
  writableStreamDealWithRejection(stream, error);
}

// https://streams.spec.whatwg.org/#writable-stream-finish-in-flight-close
function writableStreamFinishInFlightClose(stream) {
  stream[_inFlightCloseRequest].resolve(undefined);
  stream[_inFlightCloseRequest] = undefined;
  if (stream[_state] === "erroring") {
    stream[_storedError] = undefined;
    if (stream[_pendingAbortRequest] !== undefined) {
      stream[_pendingAbortRequest].promise.resolve(undefined);
      stream[_pendingAbortRequest] = undefined;
    }
  }
  stream[_state] = "closed";
  const writer = stream[_writer];
  if (writer !== undefined) writer[_closedPromise].resolve(undefined);
}

function writableStreamFinishInFlightCloseWithError(stream, error) {
  stream[_inFlightCloseRequest].reject(error);
  stream[_inFlightCloseRequest] = undefined;
  if (stream[_pendingAbortRequest] !== undefined) {
    stream[_pendingAbortRequest].promise.reject(error);
    stream[_pendingAbortRequest] = undefined;
  }
  writableStreamDealWithRejection(stream, error);
}

function writableStreamCloseQueuedOrInFlight(stream) {
  return stream[_closeRequest] !== undefined || stream[_inFlightCloseRequest] !== undefined;
}

function writableStreamHasOperationMarkedInFlight(stream) {
  return stream[_inFlightWriteRequest] !== undefined || stream[_inFlightCloseRequest] !== undefined;
}

function writableStreamMarkCloseRequestInFlight(stream) {
  stream[_inFlightCloseRequest] = stream[_closeRequest];
  stream[_closeRequest] = undefined;
}

function writableStreamMarkFirstWriteRequestInFlight(stream) {
  stream[_inFlightWriteRequest] = stream[_writeRequests].shift();
}

// https://streams.spec.whatwg.org/#writable-stream-reject-close-and-closed-promise-if-needed
function writableStreamRejectCloseAndClosedPromiseIfNeeded(stream) {
  if (stream[_closeRequest] !== undefined) {
    stream[_closeRequest].reject(stream[_storedError]);
    stream[_closeRequest] = undefined;
  }
  const writer = stream[_writer];
  if (writer !== undefined) {
    writer[_closedPromise].reject(stream[_storedError]);
    markHandled(writer[_closedPromise].promise);
  }
}

// https://streams.spec.whatwg.org/#writable-stream-update-backpressure
function writableStreamUpdateBackpressure(stream, backpressure) {
  const writer = stream[_writer];
  if (writer !== undefined && backpressure !== stream[_backpressure]) {
    if (backpressure) writer[_readyPromise] = newDeferred();
    else writer[_readyPromise].resolve(undefined);
  }
  stream[_backpressure] = backpressure;
}

// ---- WritableStreamDefaultWriter

// https://streams.spec.whatwg.org/#default-writer-class
class WritableStreamDefaultWriter {
  constructor(stream) {
    requiredArguments(arguments.length, 1, "Failed to construct 'WritableStreamDefaultWriter'");
    if (!isWritableStream(stream)) {
      throw new TypeError("Failed to construct 'WritableStreamDefaultWriter': parameter 1 is not of type 'WritableStream'.");
    }
    setUpWritableStreamDefaultWriter(this, stream);
  }

  get closed() {
    if (!isWriter(this)) return PromiseReject(new TypeError("Illegal invocation: not a WritableStreamDefaultWriter"));
    return this[_closedPromise].promise;
  }

  get desiredSize() {
    checkWriter(this);
    if (this[_stream] === undefined) {
      throw new TypeError("Failed to read the 'desiredSize' property from 'WritableStreamDefaultWriter': The writer has been released");
    }
    return writableStreamDefaultWriterGetDesiredSize(this);
  }

  get ready() {
    if (!isWriter(this)) return PromiseReject(new TypeError("Illegal invocation: not a WritableStreamDefaultWriter"));
    return this[_readyPromise].promise;
  }

  abort(reason = undefined) {
    if (!isWriter(this)) return PromiseReject(new TypeError("Illegal invocation: not a WritableStreamDefaultWriter"));
    if (this[_stream] === undefined) {
      return PromiseReject(new TypeError("Failed to execute 'abort' on 'WritableStreamDefaultWriter': The writer has been released"));
    }
    return writableStreamAbort(this[_stream], reason);
  }

  close() {
    if (!isWriter(this)) return PromiseReject(new TypeError("Illegal invocation: not a WritableStreamDefaultWriter"));
    const stream = this[_stream];
    if (stream === undefined) {
      return PromiseReject(new TypeError("Failed to execute 'close' on 'WritableStreamDefaultWriter': The writer has been released"));
    }
    if (writableStreamCloseQueuedOrInFlight(stream)) {
      return PromiseReject(new TypeError("Failed to execute 'close' on 'WritableStreamDefaultWriter': The stream is already closing"));
    }
    return writableStreamClose(stream);
  }

  releaseLock() {
    checkWriter(this);
    if (this[_stream] === undefined) return;
    writableStreamDefaultWriterRelease(this);
  }

  write(chunk = undefined) {
    if (!isWriter(this)) return PromiseReject(new TypeError("Illegal invocation: not a WritableStreamDefaultWriter"));
    if (this[_stream] === undefined) {
      return PromiseReject(new TypeError("Failed to execute 'write' on 'WritableStreamDefaultWriter': The writer has been released"));
    }
    return writableStreamDefaultWriterWrite(this, chunk);
  }
}
configureInterface(WritableStreamDefaultWriter);

function isWriter(v) {
  return v !== null && typeof v === "object" && _readyPromise in v;
}

function checkWriter(v) {
  if (!isWriter(v)) throw new TypeError("Illegal invocation: not a WritableStreamDefaultWriter");
}

// https://streams.spec.whatwg.org/#set-up-writable-stream-default-writer
function setUpWritableStreamDefaultWriter(writer, stream) {
  if (isWritableStreamLocked(stream)) {
    throw new TypeError("WritableStream is locked: it already has a writer");
  }
  writer[_stream] = stream;
  stream[_writer] = writer;
  const state = stream[_state];
  if (state === "writable") {
    writer[_readyPromise] = !writableStreamCloseQueuedOrInFlight(stream) && stream[_backpressure]
      ? newDeferred()
      : resolvedDeferred(undefined);
    writer[_closedPromise] = newDeferred();
  } else if (state === "erroring") {
    writer[_readyPromise] = rejectedDeferred(stream[_storedError]);
    writer[_closedPromise] = newDeferred();
  } else if (state === "closed") {
    writer[_readyPromise] = resolvedDeferred(undefined);
    writer[_closedPromise] = resolvedDeferred(undefined);
  } else {
    writer[_readyPromise] = rejectedDeferred(stream[_storedError]);
    writer[_closedPromise] = rejectedDeferred(stream[_storedError]);
  }
}

// https://streams.spec.whatwg.org/#writable-stream-default-writer-close-with-error-propagation
function writableStreamDefaultWriterCloseWithErrorPropagation(writer) {
  const stream = writer[_stream];
  const state = stream[_state];
  if (writableStreamCloseQueuedOrInFlight(stream) || state === "closed") return PromiseResolve(undefined);
  if (state === "errored") return PromiseReject(stream[_storedError]);
  return writableStreamClose(stream);
}

function writableStreamDefaultWriterEnsureClosedPromiseRejected(writer, error) {
  if (!writer[_closedPromise].settled) writer[_closedPromise].reject(error);
  else writer[_closedPromise] = rejectedDeferred(error);
  markHandled(writer[_closedPromise].promise);
}

function writableStreamDefaultWriterEnsureReadyPromiseRejected(writer, error) {
  if (!writer[_readyPromise].settled) writer[_readyPromise].reject(error);
  else writer[_readyPromise] = rejectedDeferred(error);
  markHandled(writer[_readyPromise].promise);
}

function writableStreamDefaultWriterGetDesiredSize(writer) {
  const stream = writer[_stream];
  const state = stream[_state];
  if (state === "errored" || state === "erroring") return null;
  if (state === "closed") return 0;
  return writableStreamDefaultControllerGetDesiredSize(stream[_controller]);
}

// https://streams.spec.whatwg.org/#writable-stream-default-writer-release
function writableStreamDefaultWriterRelease(writer) {
  const stream = writer[_stream];
  const releasedError = new TypeError("Writer was released");
  writableStreamDefaultWriterEnsureReadyPromiseRejected(writer, releasedError);
  writableStreamDefaultWriterEnsureClosedPromiseRejected(writer, releasedError);
  stream[_writer] = undefined;
  writer[_stream] = undefined;
}

// https://streams.spec.whatwg.org/#writable-stream-default-writer-write
function writableStreamDefaultWriterWrite(writer, chunk) {
  const stream = writer[_stream];
  const controller = stream[_controller];
  const chunkSize = writableStreamDefaultControllerGetChunkSize(controller, chunk);
  if (stream !== writer[_stream]) return PromiseReject(new TypeError("The writer was released while writing"));
  const state = stream[_state];
  if (state === "errored") return PromiseReject(stream[_storedError]);
  if (writableStreamCloseQueuedOrInFlight(stream) || state === "closed") {
    return PromiseReject(new TypeError("The stream is closing or closed and cannot be written to"));
  }
  if (state === "erroring") return PromiseReject(stream[_storedError]);
  const promise = writableStreamAddWriteRequest(stream);
  writableStreamDefaultControllerWrite(controller, chunk, chunkSize);
  return promise;
}

// ---- WritableStreamDefaultController

// https://streams.spec.whatwg.org/#ws-default-controller-class
class WritableStreamDefaultController {
  constructor(key = undefined) {
    if (key !== illegalConstructorKey) throw new TypeError("Illegal constructor");
  }

  get signal() {
    checkWritableController(this);
    return this[_abortController].signal;
  }

  error(e = undefined) {
    checkWritableController(this);
    if (this[_stream][_state] !== "writable") return;
    writableStreamDefaultControllerError(this, e);
  }
}
configureInterface(WritableStreamDefaultController);

function checkWritableController(v) {
  if (v === null || typeof v !== "object" || !(_abortController in v)) {
    throw new TypeError("Illegal invocation: not a WritableStreamDefaultController");
  }
}

// https://streams.spec.whatwg.org/#set-up-writable-stream-default-controller
function setUpWritableStreamDefaultController(stream, controller, startAlgorithm, writeAlgorithm, closeAlgorithm, abortAlgorithm, highWaterMark, sizeAlgorithm) {
  controller[_stream] = stream;
  stream[_controller] = controller;
  resetQueue(controller);
  controller[_abortController] = new AbortController();
  controller[_started] = false;
  controller[_strategySizeAlgorithm] = sizeAlgorithm;
  controller[_strategyHWM] = highWaterMark;
  controller[_writeAlgorithm] = writeAlgorithm;
  controller[_closeAlgorithm] = closeAlgorithm;
  controller[_abortAlgorithm] = abortAlgorithm;
  writableStreamUpdateBackpressure(stream, writableStreamDefaultControllerGetBackpressure(controller));
  const startResult = startAlgorithm();
  uponPromise(PromiseResolve(startResult), () => {
    controller[_started] = true;
    writableStreamDefaultControllerAdvanceQueueIfNeeded(controller);
  }, (r) => {
    controller[_started] = true;
    writableStreamDealWithRejection(stream, r);
  });
}

// https://streams.spec.whatwg.org/#set-up-writable-stream-default-controller-from-underlying-sink
function setUpWritableStreamDefaultControllerFromUnderlyingSink(stream, underlyingSink, sink, highWaterMark, sizeAlgorithm) {
  const controller = new WritableStreamDefaultController(illegalConstructorKey);
  const { start, write, close, abort } = sink;
  const startAlgorithm = start === undefined ? noop : () => ReflectApply(start, underlyingSink, [controller]);
  const writeAlgorithm = write === undefined
    ? resolvedUndefined
    : (chunk) => promiseCall(write, underlyingSink, chunk, controller);
  const closeAlgorithm = close === undefined ? resolvedUndefined : () => promiseCall(close, underlyingSink);
  const abortAlgorithm = abort === undefined
    ? resolvedUndefined
    : (reason) => promiseCall(abort, underlyingSink, reason);
  setUpWritableStreamDefaultController(stream, controller, startAlgorithm, writeAlgorithm, closeAlgorithm, abortAlgorithm, highWaterMark, sizeAlgorithm);
}

// https://streams.spec.whatwg.org/#writable-stream-default-controller-advance-queue-if-needed
function writableStreamDefaultControllerAdvanceQueueIfNeeded(controller) {
  const stream = controller[_stream];
  if (!controller[_started]) return;
  if (stream[_inFlightWriteRequest] !== undefined) return;
  const state = stream[_state];
  if (state === "erroring") {
    writableStreamFinishErroring(stream);
    return;
  }
  if (queueIsEmpty(controller)) return;
  const value = peekQueueValue(controller);
  if (value === closeSentinel) writableStreamDefaultControllerProcessClose(controller);
  else writableStreamDefaultControllerProcessWrite(controller, value);
}

function writableStreamDefaultControllerClearAlgorithms(controller) {
  controller[_writeAlgorithm] = undefined;
  controller[_closeAlgorithm] = undefined;
  controller[_abortAlgorithm] = undefined;
  controller[_strategySizeAlgorithm] = undefined;
}

function writableStreamDefaultControllerClose(controller) {
  enqueueValueWithSize(controller, closeSentinel, 0);
  writableStreamDefaultControllerAdvanceQueueIfNeeded(controller);
}

function writableStreamDefaultControllerError(controller, error) {
  writableStreamDefaultControllerClearAlgorithms(controller);
  writableStreamStartErroring(controller[_stream], error);
}

function writableStreamDefaultControllerErrorIfNeeded(controller, error) {
  if (controller[_stream][_state] === "writable") writableStreamDefaultControllerError(controller, error);
}

function writableStreamDefaultControllerGetBackpressure(controller) {
  return writableStreamDefaultControllerGetDesiredSize(controller) <= 0;
}

function writableStreamDefaultControllerGetChunkSize(controller, chunk) {
  const sizeAlgorithm = controller[_strategySizeAlgorithm];
  if (sizeAlgorithm === undefined) return 1;
  try {
    return sizeAlgorithm(chunk);
  } catch (e) {
    writableStreamDefaultControllerErrorIfNeeded(controller, e);
    return 1;
  }
}

function writableStreamDefaultControllerGetDesiredSize(controller) {
  return controller[_strategyHWM] - controller[_queueTotalSize];
}

// https://streams.spec.whatwg.org/#writable-stream-default-controller-process-close
function writableStreamDefaultControllerProcessClose(controller) {
  const stream = controller[_stream];
  writableStreamMarkCloseRequestInFlight(stream);
  dequeueValue(controller);
  const sinkClosePromise = controller[_closeAlgorithm]();
  writableStreamDefaultControllerClearAlgorithms(controller);
  uponPromise(sinkClosePromise, () => writableStreamFinishInFlightClose(stream), (reason) => writableStreamFinishInFlightCloseWithError(stream, reason));
}

// https://streams.spec.whatwg.org/#writable-stream-default-controller-process-write
function writableStreamDefaultControllerProcessWrite(controller, chunk) {
  const stream = controller[_stream];
  writableStreamMarkFirstWriteRequestInFlight(stream);
  const sinkWritePromise = controller[_writeAlgorithm](chunk);
  uponPromise(sinkWritePromise, () => {
    writableStreamFinishInFlightWrite(stream);
    const state = stream[_state];
    dequeueValue(controller);
    if (!writableStreamCloseQueuedOrInFlight(stream) && state === "writable") {
      writableStreamUpdateBackpressure(stream, writableStreamDefaultControllerGetBackpressure(controller));
    }
    writableStreamDefaultControllerAdvanceQueueIfNeeded(controller);
  }, (reason) => {
    if (stream[_state] === "writable") writableStreamDefaultControllerClearAlgorithms(controller);
    writableStreamFinishInFlightWriteWithError(stream, reason);
  });
}

// https://streams.spec.whatwg.org/#writable-stream-default-controller-write
function writableStreamDefaultControllerWrite(controller, chunk, chunkSize) {
  try {
    enqueueValueWithSize(controller, chunk, chunkSize);
  } catch (e) {
    writableStreamDefaultControllerErrorIfNeeded(controller, e);
    return;
  }
  const stream = controller[_stream];
  if (!writableStreamCloseQueuedOrInFlight(stream) && stream[_state] === "writable") {
    writableStreamUpdateBackpressure(stream, writableStreamDefaultControllerGetBackpressure(controller));
  }
  writableStreamDefaultControllerAdvanceQueueIfNeeded(controller);
}

// ---- TransformStream

const _readable = internalSymbol("[[readable]]");
const _writable = internalSymbol("[[writable]]");
const _backpressureChangePromise = internalSymbol("[[backpressureChangePromise]]");
const _transformAlgorithm = internalSymbol("[[transformAlgorithm]]");
const _flushAlgorithm = internalSymbol("[[flushAlgorithm]]");
const _finishPromise = internalSymbol("[[finishPromise]]");

// https://streams.spec.whatwg.org/#ts-class
class TransformStream {
  constructor(transformer = undefined, writableStrategy = undefined, readableStrategy = undefined) {
    const prefix = "Failed to construct 'TransformStream'";
    if (transformer === undefined) transformer = null;
    if (transformer !== null && typeof transformer !== "object" && typeof transformer !== "function") {
      throw new TypeError(`${prefix}: parameter 1 is not an object.`);
    }
    const wStrat = readStrategy(writableStrategy, prefix, "Argument 2");
    const rStrat = readStrategy(readableStrategy, prefix, "Argument 3");
    const t = readTransformer(transformer, prefix);
    if (t.readableType !== undefined) throw new RangeError(`${prefix}: Invalid readableType specified`);
    if (t.writableType !== undefined) throw new RangeError(`${prefix}: Invalid writableType specified`);
    const readableHWM = extractHighWaterMark(rStrat, 0);
    const readableSize = extractSizeAlgorithm(rStrat, prefix);
    const writableHWM = extractHighWaterMark(wStrat, 1);
    const writableSize = extractSizeAlgorithm(wStrat, prefix);
    const startPromise = newDeferred();
    initializeTransformStream(this, startPromise.promise, writableHWM, writableSize, readableHWM, readableSize);
    setUpTransformStreamDefaultControllerFromTransformer(this, transformer, t);
    if (t.start !== undefined) {
      startPromise.resolve(ReflectApply(t.start, transformer, [this[_controller]]));
    } else {
      startPromise.resolve(undefined);
    }
  }

  get readable() {
    checkTransformStream(this);
    return this[_readable];
  }

  get writable() {
    checkTransformStream(this);
    return this[_writable];
  }

  [customInspect](inspect) {
    return `TransformStream ${inspect({ readable: this[_readable], writable: this[_writable] })}`;
  }
}
configureInterface(TransformStream);

function readTransformer(transformer, prefix) {
  if (transformer === null) return {};
  const t = transformer;
  const cancel = t.cancel;
  if (cancel !== undefined) toCallback(cancel, prefix, "transformer.cancel");
  const flush = t.flush;
  if (flush !== undefined) toCallback(flush, prefix, "transformer.flush");
  const readableType = t.readableType;
  const start = t.start;
  if (start !== undefined) toCallback(start, prefix, "transformer.start");
  const transform = t.transform;
  if (transform !== undefined) toCallback(transform, prefix, "transformer.transform");
  const writableType = t.writableType;
  return { cancel, flush, readableType, start, transform, writableType };
}

function checkTransformStream(v) {
  if (v === null || typeof v !== "object" || !(_backpressureChangePromise in v)) {
    throw new TypeError("Illegal invocation: not a TransformStream");
  }
}

// https://streams.spec.whatwg.org/#initialize-transform-stream
function initializeTransformStream(stream, startPromise, writableHWM, writableSize, readableHWM, readableSize) {
  const startAlgorithm = () => startPromise;
  stream[_writable] = createWritableStream(
    startAlgorithm,
    (chunk) => transformStreamDefaultSinkWriteAlgorithm(stream, chunk),
    () => transformStreamDefaultSinkCloseAlgorithm(stream),
    (reason) => transformStreamDefaultSinkAbortAlgorithm(stream, reason),
    writableHWM,
    writableSize,
  );
  stream[_readable] = createReadableStream(
    startAlgorithm,
    () => transformStreamDefaultSourcePullAlgorithm(stream),
    (reason) => transformStreamDefaultSourceCancelAlgorithm(stream, reason),
    readableHWM,
    readableSize,
  );
  stream[_backpressure] = undefined;
  stream[_backpressureChangePromise] = undefined;
  transformStreamSetBackpressure(stream, true);
  stream[_controller] = undefined;
}

// https://streams.spec.whatwg.org/#transform-stream-error
function transformStreamError(stream, e) {
  readableStreamDefaultControllerError(stream[_readable][_controller], e);
  transformStreamErrorWritableAndUnblockWrite(stream, e);
}

function transformStreamErrorWritableAndUnblockWrite(stream, e) {
  transformStreamDefaultControllerClearAlgorithms(stream[_controller]);
  writableStreamDefaultControllerErrorIfNeeded(stream[_writable][_controller], e);
  transformStreamUnblockWrite(stream);
}

function transformStreamUnblockWrite(stream) {
  if (stream[_backpressure]) transformStreamSetBackpressure(stream, false);
}

// https://streams.spec.whatwg.org/#transform-stream-set-backpressure
function transformStreamSetBackpressure(stream, backpressure) {
  if (stream[_backpressureChangePromise] !== undefined) stream[_backpressureChangePromise].resolve(undefined);
  stream[_backpressureChangePromise] = newDeferred();
  stream[_backpressure] = backpressure;
}

// https://streams.spec.whatwg.org/#ts-default-controller-class
class TransformStreamDefaultController {
  constructor(key = undefined) {
    if (key !== illegalConstructorKey) throw new TypeError("Illegal constructor");
  }

  get desiredSize() {
    checkTransformController(this);
    return controllerGetDesiredSize(this[_stream][_readable][_controller]);
  }

  enqueue(chunk = undefined) {
    checkTransformController(this);
    transformStreamDefaultControllerEnqueue(this, chunk);
  }

  error(reason = undefined) {
    checkTransformController(this);
    transformStreamError(this[_stream], reason);
  }

  terminate() {
    checkTransformController(this);
    transformStreamDefaultControllerTerminate(this);
  }
}
configureInterface(TransformStreamDefaultController);

function checkTransformController(v) {
  if (v === null || typeof v !== "object" || !(_transformAlgorithm in v)) {
    throw new TypeError("Illegal invocation: not a TransformStreamDefaultController");
  }
}

function setUpTransformStreamDefaultController(stream, controller, transformAlgorithm, flushAlgorithm, cancelAlgorithm) {
  controller[_stream] = stream;
  stream[_controller] = controller;
  controller[_transformAlgorithm] = transformAlgorithm;
  controller[_flushAlgorithm] = flushAlgorithm;
  controller[_cancelAlgorithm] = cancelAlgorithm;
  controller[_finishPromise] = undefined;
}

// https://streams.spec.whatwg.org/#set-up-transform-stream-default-controller-from-transformer
function setUpTransformStreamDefaultControllerFromTransformer(stream, transformer, t) {
  const controller = new TransformStreamDefaultController(illegalConstructorKey);
  const { transform, flush, cancel } = t;
  const transformAlgorithm = transform === undefined
    ? (chunk) => {
      try {
        transformStreamDefaultControllerEnqueue(controller, chunk);
        return PromiseResolve(undefined);
      } catch (e) {
        return PromiseReject(e);
      }
    }
    : (chunk) => promiseCall(transform, transformer, chunk, controller);
  const flushAlgorithm = flush === undefined ? resolvedUndefined : () => promiseCall(flush, transformer, controller);
  const cancelAlgorithm = cancel === undefined
    ? resolvedUndefined
    : (reason) => promiseCall(cancel, transformer, reason);
  setUpTransformStreamDefaultController(stream, controller, transformAlgorithm, flushAlgorithm, cancelAlgorithm);
}

function transformStreamDefaultControllerClearAlgorithms(controller) {
  controller[_transformAlgorithm] = undefined;
  controller[_flushAlgorithm] = undefined;
  controller[_cancelAlgorithm] = undefined;
}

// https://streams.spec.whatwg.org/#transform-stream-default-controller-enqueue
function transformStreamDefaultControllerEnqueue(controller, chunk) {
  const stream = controller[_stream];
  const readableController = stream[_readable][_controller];
  if (!controllerCanCloseOrEnqueue(readableController)) {
    throw new TypeError("The readable side of the transform stream is not in a state that permits enqueue");
  }
  try {
    readableStreamDefaultControllerEnqueue(readableController, chunk);
  } catch (e) {
    transformStreamErrorWritableAndUnblockWrite(stream, e);
    throw stream[_readable][_storedError];
  }
  const backpressure = controllerHasBackpressure(readableController);
  if (backpressure !== stream[_backpressure]) transformStreamSetBackpressure(stream, true);
}

// https://streams.spec.whatwg.org/#transform-stream-default-controller-perform-transform
function transformStreamDefaultControllerPerformTransform(controller, chunk) {
  const transformPromise = controller[_transformAlgorithm](chunk);
  return then(transformPromise, undefined, (r) => {
    transformStreamError(controller[_stream], r);
    throw r;
  });
}

// https://streams.spec.whatwg.org/#transform-stream-default-controller-terminate
function transformStreamDefaultControllerTerminate(controller) {
  const stream = controller[_stream];
  readableStreamDefaultControllerClose(stream[_readable][_controller]);
  transformStreamErrorWritableAndUnblockWrite(stream, new TypeError("The transform stream has been terminated"));
}

// https://streams.spec.whatwg.org/#transform-stream-default-sink-write-algorithm
function transformStreamDefaultSinkWriteAlgorithm(stream, chunk) {
  const controller = stream[_controller];
  if (stream[_backpressure]) {
    return then(stream[_backpressureChangePromise].promise, () => {
      const writable = stream[_writable];
      if (writable[_state] === "erroring") throw writable[_storedError];
      return transformStreamDefaultControllerPerformTransform(controller, chunk);
    });
  }
  return transformStreamDefaultControllerPerformTransform(controller, chunk);
}

// https://streams.spec.whatwg.org/#transform-stream-default-sink-abort-algorithm
function transformStreamDefaultSinkAbortAlgorithm(stream, reason) {
  const controller = stream[_controller];
  if (controller[_finishPromise] !== undefined) return controller[_finishPromise].promise;
  const readable = stream[_readable];
  const finish = controller[_finishPromise] = newDeferred();
  const cancelPromise = controller[_cancelAlgorithm](reason);
  transformStreamDefaultControllerClearAlgorithms(controller);
  uponPromise(cancelPromise, () => {
    if (readable[_state] === "errored") {
      finish.reject(readable[_storedError]);
    } else {
      readableStreamDefaultControllerError(readable[_controller], reason);
      finish.resolve(undefined);
    }
  }, (r) => {
    readableStreamDefaultControllerError(readable[_controller], r);
    finish.reject(r);
  });
  return finish.promise;
}

// https://streams.spec.whatwg.org/#transform-stream-default-sink-close-algorithm
function transformStreamDefaultSinkCloseAlgorithm(stream) {
  const controller = stream[_controller];
  if (controller[_finishPromise] !== undefined) return controller[_finishPromise].promise;
  const readable = stream[_readable];
  const finish = controller[_finishPromise] = newDeferred();
  const flushPromise = controller[_flushAlgorithm]();
  transformStreamDefaultControllerClearAlgorithms(controller);
  uponPromise(flushPromise, () => {
    if (readable[_state] === "errored") {
      finish.reject(readable[_storedError]);
    } else {
      readableStreamDefaultControllerClose(readable[_controller]);
      finish.resolve(undefined);
    }
  }, (r) => {
    readableStreamDefaultControllerError(readable[_controller], r);
    finish.reject(r);
  });
  return finish.promise;
}

// https://streams.spec.whatwg.org/#transform-stream-default-source-pull
function transformStreamDefaultSourcePullAlgorithm(stream) {
  transformStreamSetBackpressure(stream, false);
  return stream[_backpressureChangePromise].promise;
}

// https://streams.spec.whatwg.org/#transform-stream-default-source-cancel
function transformStreamDefaultSourceCancelAlgorithm(stream, reason) {
  const controller = stream[_controller];
  if (controller[_finishPromise] !== undefined) return controller[_finishPromise].promise;
  const writable = stream[_writable];
  const finish = controller[_finishPromise] = newDeferred();
  const cancelPromise = controller[_cancelAlgorithm](reason);
  transformStreamDefaultControllerClearAlgorithms(controller);
  uponPromise(cancelPromise, () => {
    if (writable[_state] === "errored") {
      finish.reject(writable[_storedError]);
    } else {
      writableStreamDefaultControllerErrorIfNeeded(writable[_controller], reason);
      transformStreamUnblockWrite(stream);
      finish.resolve(undefined);
    }
  }, (r) => {
    writableStreamDefaultControllerErrorIfNeeded(writable[_controller], r);
    transformStreamUnblockWrite(stream);
    finish.reject(r);
  });
  return finish.promise;
}

// ---- TextEncoderStream, TextDecoderStream

const _transform = internalSymbol("[[transform]]");
const _decoder = internalSymbol("[[decoder]]");

// https://encoding.spec.whatwg.org/#interface-textencoderstream
class TextEncoderStream {
  constructor() {
    let pendingHighSurrogate = null;
    const encoder = new TextEncoder();
    this[_transform] = new TransformStream({
      // https://encoding.spec.whatwg.org/#encode-and-enqueue-a-chunk
      transform(chunk, controller) {
        let s = toDOMString(chunk, "TextEncoderStream", "chunk");
        if (pendingHighSurrogate !== null) {
          s = pendingHighSurrogate + s;
          pendingHighSurrogate = null;
        }
        const last = s.charCodeAt(s.length - 1);
        if (last >= 0xd800 && last <= 0xdbff) {
          pendingHighSurrogate = s[s.length - 1];
          s = s.slice(0, -1);
        }
        if (s !== "") controller.enqueue(encoder.encode(s));
      },
      // https://encoding.spec.whatwg.org/#encode-and-flush
      flush(controller) {
        if (pendingHighSurrogate !== null) controller.enqueue(new Uint8Array([0xef, 0xbf, 0xbd]));
      },
    });
  }
  get encoding() {
    brand(this, _transform, "TextEncoderStream");
    return "utf-8";
  }
  get readable() {
    brand(this, _transform, "TextEncoderStream");
    return this[_transform].readable;
  }
  get writable() {
    brand(this, _transform, "TextEncoderStream");
    return this[_transform].writable;
  }
}
configureInterface(TextEncoderStream);

// https://encoding.spec.whatwg.org/#interface-textdecoderstream
class TextDecoderStream {
  constructor(label = "utf-8", options = undefined) {
    const decoder = new TextDecoder(label, options);
    this[_decoder] = decoder;
    this[_transform] = new TransformStream({
      transform(chunk, controller) {
        if (bufferSourceView(chunk) === undefined) {
          throw new TypeError("TextDecoderStream: chunk is not an ArrayBuffer or ArrayBufferView");
        }
        const s = decoder.decode(chunk, { stream: true });
        if (s !== "") controller.enqueue(s);
      },
      flush(controller) {
        const s = decoder.decode();
        if (s !== "") controller.enqueue(s);
      },
    });
  }
  get encoding() {
    brand(this, _decoder, "TextDecoderStream");
    return this[_decoder].encoding;
  }
  get fatal() {
    brand(this, _decoder, "TextDecoderStream");
    return this[_decoder].fatal;
  }
  get ignoreBOM() {
    brand(this, _decoder, "TextDecoderStream");
    return this[_decoder].ignoreBOM;
  }
  get readable() {
    brand(this, _decoder, "TextDecoderStream");
    return this[_transform].readable;
  }
  get writable() {
    brand(this, _decoder, "TextDecoderStream");
    return this[_transform].writable;
  }
}
configureInterface(TextDecoderStream);

// Reads a whole stream of Uint8Array chunks (a body) into one Uint8Array.
async function readAllBytes(stream) {
  const reader = acquireReadableStreamDefaultReader(stream);
  const chunks = [];
  let total = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const view = bufferSourceView(value);
    if (view === undefined) {
      readableStreamDefaultReaderRelease(reader);
      throw new TypeError("readAllBytes: chunk is not a Uint8Array");
    }
    chunks.push(view);
    total += view.byteLength;
  }
  return k.concatBytes(chunks, total);
}

return {
  ReadableStream,
  ReadableStreamDefaultReader,
  ReadableStreamDefaultController,
  ReadableByteStreamController,
  WritableStream,
  WritableStreamDefaultWriter,
  WritableStreamDefaultController,
  TransformStream,
  TransformStreamDefaultController,
  ByteLengthQueuingStrategy,
  CountQueuingStrategy,
  TextEncoderStream,
  TextDecoderStream,
  isReadableStream,
  isReadableStreamLocked,
  isReadableStreamDisturbed,
  isWritableStream,
  createReadableStream,
  readableStreamCancel,
  readableStreamClose: (stream) => readableStreamDefaultControllerClose(stream[_controller]),
  readableStreamEnqueue: (stream, chunk) => readableStreamDefaultControllerEnqueue(stream[_controller], chunk),
  readableStreamError: (stream, e) => readableStreamDefaultControllerError(stream[_controller], e),
  readableStreamDesiredSize: (stream) => controllerGetDesiredSize(stream[_controller]),
  readAllBytes,
};
