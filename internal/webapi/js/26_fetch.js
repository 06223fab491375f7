// fetch(): https://fetch.spec.whatwg.org/#fetch-method
//
// The request goes out through Go (fetch_ops.go): op_fetch_start checks it
// (URL scheme, subrequest limit) and returns an id, op_fetch_send resolves
// to the response head with a body resource id, op_fetch_cancel aborts.
// Egress policy (no loopback, private or link-local addresses) is enforced
// by Go's dialer after DNS resolution.
//
// Request bodies: strings and bytes cross as they are; Blob and FormData
// bodies are read into bytes first; an untouched body that reads from a Go
// resource (e.g. the incoming request's body) is streamed by Go without
// entering JS; any other ReadableStream is streamed chunk by chunk with
// op_fetch_body_write, each write awaited (backpressure from the socket).

// requestBodyForSend returns what op_fetch_start takes as the body: null, a
// string, bytes, a resource id (a number >= 0), or -1 for a stream that
// pumpBody sends.
async function requestBodyForSend(body) {
  const src = body.untouchedSource();
  if (src !== undefined) return src;
  const parts = body.materialize();
  if (parts !== undefined) return await parts;
  const rid = body.takeRid();
  if (rid >= 0) return rid;
  return -1;
}

// pumpBody streams body to fetch id's request; a failure ends the request
// body with an error, which fails the fetch.
async function pumpBody(id, body) {
  const reader = body.stream.getReader();
  body.consumed = true;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = k.bufferSourceView(value);
      if (chunk === undefined) throw new TypeError("request body stream chunk is not a Uint8Array");
      if (chunk.byteLength > 0) await ops.op_fetch_body_write(id, chunk);
    }
    ops.op_fetch_body_close(id, null);
  } catch (e) {
    ops.op_fetch_body_close(id, String(e && e.message !== undefined ? e.message : e));
    reader.cancel(e).catch(() => {});
  }
}

function abortReason(signal) {
  return signal.reason !== undefined ? signal.reason : new k.DOMException("The operation was aborted.", "AbortError");
}

async function fetch(input, init = undefined) {
  k.requiredArguments(arguments.length, 1, "Failed to execute 'fetch'");
  const request = new k.Request(input, init);
  const inner = k.requestInner(request);
  const signal = inner.signal;
  if (signal !== null && signal.aborted) throw abortReason(signal);

  let body = null;
  if (inner.body !== null) {
    if (inner.body.unusable) throw new TypeError("Failed to execute 'fetch': the request body was already used.");
    body = await requestBodyForSend(inner.body);
    if (signal !== null && signal.aborted) {
      if (typeof body === "number") ops.op_resource_close(body);
      throw abortReason(signal);
    }
  }
  const id = ops.op_fetch_start(inner.method, inner.url, inner.headerText, body, inner.redirect);
  if (body === -1) pumpBody(id, inner.body);

  let onAbort = null;
  if (signal !== null) {
    onAbort = () => ops.op_fetch_cancel(id);
    signal.addEventListener("abort", onAbort, { once: true });
  }
  let head;
  try {
    head = await ops.op_fetch_send(id);
  } catch (e) {
    if (onAbort !== null) signal.removeEventListener("abort", onAbort);
    if (signal !== null && signal.aborted) throw abortReason(signal);
    throw e;
  }
  const response = k.newFetchResponse(head[0], head[1], head[2], head[3], head[4], head[5]);
  if (onAbort !== null) {
    const rb = k.responseInner(response).body;
    if (rb === null) {
      signal.removeEventListener("abort", onAbort);
    } else {
      // Until the body ends, an abort errors it with the signal's reason.
      rb.signal = signal;
      rb.onDone = () => signal.removeEventListener("abort", onAbort);
    }
  }
  return response;
}

// requestBodyForSend and pumpBody also send service binding requests (33_service.js).
return { fetch, requestBodyForSend, pumpBody };
