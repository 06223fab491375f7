// Streams: https://streams.spec.whatwg.org/ — this layer: ReadableStream
// (default controller and reader; a "bytes" source gets a byte controller
// that accepts views, read through a default reader: there is no BYOB
// reader), the queuing strategies, tee, async iteration and
// ReadableStream.from. WritableStream, TransformStream, pipeTo and the text
// streams are in 09_streams_writable.js, which shares these internals
// through k.streamInternals.
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
  toUnrestrictedDouble,
  enumValue,
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
} = k;

const PromiseCtor = Promise;
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
// to a promise. A callback returning undefined (the common case) gets the
// one shared promise resolved with undefined: reactions to it run exactly as
// they would on a fresh one.
const resolvedPromise = PromiseResolve(undefined);

function toPromise(v) {
  return v === undefined ? resolvedPromise : PromiseResolve(v);
}

function promiseCall0(fn, thisArg) {
  try {
    return toPromise(ReflectApply(fn, thisArg, []));
  } catch (e) {
    return PromiseReject(e);
  }
}

function promiseCall1(fn, thisArg, a) {
  try {
    return toPromise(ReflectApply(fn, thisArg, [a]));
  } catch (e) {
    return PromiseReject(e);
  }
}

function promiseCall2(fn, thisArg, a, b) {
  try {
    return toPromise(ReflectApply(fn, thisArg, [a, b]));
  } catch (e) {
    return PromiseReject(e);
  }
}

const resolvedUndefined = () => resolvedPromise;

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
const _onPulled = internalSymbol("onPulled");
const _onPullFailed = internalSymbol("onPullFailed");

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
    if (!k.isWritableStream(writable)) {
      throw new TypeError(`${prefix}: Failed to read the 'writable' property from 'ReadableWritablePair': parameter is not of type 'WritableStream'.`);
    }
    const o = readPipeOptions(options, prefix);
    if (isReadableStreamLocked(this)) throw new TypeError(`${prefix}: The stream is locked.`);
    if (k.isWritableStreamLocked(writable)) throw new TypeError(`${prefix}: The destination stream is locked.`);
    const promise = k.readableStreamPipeTo(this, writable, o.preventClose, o.preventAbort, o.preventCancel, o.signal);
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
      if (!k.isWritableStream(destination)) {
        throw new TypeError(`${prefix}: parameter 1 is not of type 'WritableStream'.`);
      }
      o = readPipeOptions(options, prefix);
    } catch (e) {
      return PromiseReject(e);
    }
    if (isReadableStreamLocked(this)) return PromiseReject(new TypeError(`${prefix}: The stream is locked.`));
    if (k.isWritableStreamLocked(destination)) {
      return PromiseReject(new TypeError(`${prefix}: The destination stream is locked.`));
    }
    return k.readableStreamPipeTo(this, destination, o.preventClose, o.preventAbort, o.preventCancel, o.signal);
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
    const ready = readableStreamDefaultReaderReadNow(this);
    if (ready !== undefined) return ready;
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

// readableStreamDefaultReaderTakeChunk is ReadableStreamDefaultReaderRead
// when a chunk is queued: it dequeues and returns it (running the pull
// steps), or returns noChunk when the read would wait or the stream is not
// readable.
const noChunk = internalSymbol("noChunk");

function readableStreamDefaultReaderTakeChunk(reader) {
  const stream = reader[_stream];
  if (stream[_state] !== "readable") return noChunk;
  const controller = stream[_controller];
  if (queueIsEmpty(controller)) return noChunk;
  stream[_disturbed] = true;
  // https://streams.spec.whatwg.org/#rs-default-controller-private-pull
  const chunk = dequeueValue(controller);
  if (controller[_closeRequested] && queueIsEmpty(controller)) {
    controllerClearAlgorithms(controller);
    readableStreamClose(stream);
  } else {
    controllerCallPullIfNeeded(controller);
  }
  return chunk;
}

// readableStreamDefaultReaderReadNow returns the settled promise read()
// would return when its outcome is known at once (a queued chunk; unless
// chunkOnly, a closed or errored stream), without a read request; or
// undefined when the read has to wait.
function readableStreamDefaultReaderReadNow(reader, chunkOnly = false) {
  const chunk = readableStreamDefaultReaderTakeChunk(reader);
  if (chunk !== noChunk) return PromiseResolve({ value: chunk, done: false });
  if (chunkOnly) return undefined;
  const stream = reader[_stream];
  const state = stream[_state];
  if (state === "readable") return undefined;
  stream[_disturbed] = true;
  if (state === "closed") return PromiseResolve({ value: undefined, done: true });
  return PromiseReject(stream[_storedError]);
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
  uponPromise(controller[_pullAlgorithm](), controller[_onPulled], controller[_onPullFailed]);
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
  // The reactions to every pull, made once.
  controller[_onPulled] = () => {
    controller[_pulling] = false;
    if (controller[_pullAgain]) {
      controller[_pullAgain] = false;
      controllerCallPullIfNeeded(controller);
    }
  };
  controller[_onPullFailed] = (e) => readableStreamDefaultControllerError(controller, e);
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
    : () => promiseCall1(pull, underlyingSource, controller);
  const cancelAlgorithm = cancel === undefined
    ? resolvedUndefined
    : (reason) => promiseCall1(cancel, underlyingSource, reason);
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
      if (it[_ongoing] === undefined && !it[_finished]) {
        // A queued chunk settles the step at once.
        const ready = readableStreamDefaultReaderReadNow(it[_reader], true);
        if (ready !== undefined) return ready;
      }
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
  ByteLengthQueuingStrategy,
  CountQueuingStrategy,
  isReadableStream,
  isReadableStreamLocked,
  isReadableStreamDisturbed,
  createReadableStream,
  readableStreamCancel,
  readableStreamClose: (stream) => readableStreamDefaultControllerClose(stream[_controller]),
  readableStreamEnqueue: (stream, chunk) => readableStreamDefaultControllerEnqueue(stream[_controller], chunk),
  readableStreamError: (stream, e) => readableStreamDefaultControllerError(stream[_controller], e),
  readableStreamDesiredSize: (stream) => controllerGetDesiredSize(stream[_controller]),
  readAllBytes,
  // For 09_streams_writable.js.
  streamInternals: {
    _state, _storedError, _disturbed, _controller, _stream, _started, _closedPromise, _queue, _queueTotalSize,
    _strategyHWM, _strategySizeAlgorithm, _cancelAlgorithm,
    newDeferred, resolvedDeferred, rejectedDeferred, noop, then, uponFulfillment, uponRejection,
    resolvedPromise, resolvedUndefined, promiseCall0, promiseCall1, promiseCall2,
    Queue, dequeueValue, enqueueValueWithSize, peekQueueValue, resetQueue, queueIsEmpty,
    readStrategy, extractHighWaterMark, extractSizeAlgorithm, brand,
    acquireReadableStreamDefaultReader, readableStreamCancel, readableStreamDefaultReaderRead,
    readableStreamDefaultReaderRelease, readableStreamDefaultReaderTakeChunk, noChunk,
    readableStreamDefaultControllerEnqueue, readableStreamDefaultControllerClose,
    readableStreamDefaultControllerError, controllerGetDesiredSize, controllerHasBackpressure,
    controllerCanCloseOrEnqueue,
  },
};
