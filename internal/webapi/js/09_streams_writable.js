// Streams: https://streams.spec.whatwg.org/ — this layer: WritableStream,
// TransformStream and ReadableStream's pipeTo (ReadableStream itself is in
// 06_streams.js), and TextEncoderStream/TextDecoderStream
// (https://encoding.spec.whatwg.org/#interface-textencoderstream).
const {
  internalSymbol,
  illegalConstructorKey,
  customInspect,
  configureInterface,
  requiredArguments,
  toCallback,
  toDOMString,
  bufferSourceView,
  PromiseResolve,
  PromiseReject,
  ReflectApply,
  uponPromise,
  markHandled,
  AbortController,
  abortSignalAdd,
  abortSignalRemove,
  signalAbort,
} = k;
const {
  _state, _storedError, _disturbed, _controller, _stream, _started, _closedPromise, _queueTotalSize,
  _strategyHWM, _strategySizeAlgorithm, _cancelAlgorithm,
  newDeferred, resolvedDeferred, rejectedDeferred, noop, then, uponFulfillment, uponRejection,
  resolvedUndefined, promiseCall0, promiseCall1, promiseCall2,
  Queue, dequeueValue, enqueueValueWithSize, peekQueueValue, resetQueue, queueIsEmpty,
  readStrategy, extractHighWaterMark, extractSizeAlgorithm, brand,
  acquireReadableStreamDefaultReader, readableStreamCancel, readableStreamDefaultReaderRead,
  readableStreamDefaultReaderRelease, readableStreamDefaultReaderTakeChunk, noChunk,
  readableStreamDefaultControllerEnqueue, readableStreamDefaultControllerClose,
  readableStreamDefaultControllerError, controllerGetDesiredSize, controllerHasBackpressure,
  controllerCanCloseOrEnqueue,
  createReadableStream,
} = { ...k.streamInternals, createReadableStream: k.createReadableStream };

const PromiseCtor = Promise;
const PromiseAll = Promise.all.bind(Promise);

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

  // Waits for the writer to be ready, then moves a chunk; chunks already
  // queued in the source are moved at once while the writer has room.
  function pipeStep() {
    if (shuttingDown) return PromiseResolve(true);
    return then(writer[_readyPromise].promise, () => {
      for (;;) {
        if (shuttingDown) return true;
        const chunk = readableStreamDefaultReaderTakeChunk(reader);
        if (chunk === noChunk) break;
        currentWrite = then(writableStreamDefaultWriterWrite(writer, chunk), undefined, noop);
        if (dest[_state] !== "writable" || writableStreamDefaultWriterGetDesiredSize(writer) <= 0) return false;
      }
      return new PromiseCtor((resolveRead, rejectRead) => {
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
      });
    });
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
    : (chunk) => promiseCall2(write, underlyingSink, chunk, controller);
  const closeAlgorithm = close === undefined ? resolvedUndefined : () => promiseCall0(close, underlyingSink);
  const abortAlgorithm = abort === undefined
    ? resolvedUndefined
    : (reason) => promiseCall1(abort, underlyingSink, reason);
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
    : (chunk) => promiseCall2(transform, transformer, chunk, controller);
  const flushAlgorithm = flush === undefined ? resolvedUndefined : () => promiseCall1(flush, transformer, controller);
  const cancelAlgorithm = cancel === undefined
    ? resolvedUndefined
    : (reason) => promiseCall1(cancel, transformer, reason);
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
    const encoder = new k.TextEncoder();
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
    const decoder = new k.TextDecoder(label, options);
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

return {
  WritableStream,
  WritableStreamDefaultWriter,
  WritableStreamDefaultController,
  TransformStream,
  TransformStreamDefaultController,
  TextEncoderStream,
  TextDecoderStream,
  isWritableStream,
  isWritableStreamLocked,
  readableStreamPipeTo,
};
