// Queues: the producer binding (env.QUEUE.send, sendBatch) and the
// MessageBatch a queue handler receives, with the shapes of Workers Queues:
// https://developers.cloudflare.com/queues/configuration/javascript-apis/
//
// Bodies cross to Go serialised by content type: "json" (the default;
// JSON.stringify), "text" (a string) or "bytes" (an ArrayBuffer or view).
// Workers' "v8" (structured serialisation) is not offered: a message may be
// read by another version or another app, and JSON is the format both
// sides can be sure of.
const {
  configureInterface,
  illegalConstructorKey,
  illegalConstructor,
  internalSymbol,
  requiredArguments,
  toDictionary,
  toSequence,
  bufferSourceView,
  customInspect,
  ObjectFreeze,
} = k;

const contentTypes = ["json", "text", "bytes"];
const maxDelaySeconds = 43200; // 12 hours

function contentTypeOf(v, prefix) {
  if (v === undefined) return "json";
  const s = String(v);
  if (s === "v8") {
    throw new TypeError(`${prefix}: contentType "v8" is not supported here; use "json", "text" or "bytes"`);
  }
  if (!contentTypes.includes(s)) {
    throw new TypeError(`${prefix}: contentType "${s}" is not one of "json", "text", "bytes"`);
  }
  return s;
}

function delayOf(v, prefix) {
  if (v === undefined) return 0;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > maxDelaySeconds) {
    throw new RangeError(`${prefix}: delaySeconds must be a number between 0 and ${maxDelaySeconds}`);
  }
  return Math.floor(n);
}

// serialize returns the body as the op takes it: a string for "json" and
// "text", a Uint8Array for "bytes".
function serialize(body, contentType, prefix) {
  switch (contentType) {
    case "json": {
      let s;
      try {
        s = JSON.stringify(body);
      } catch (e) {
        throw new TypeError(`${prefix}: the body cannot be serialised as JSON: ${e && e.message}`);
      }
      if (s === undefined) throw new TypeError(`${prefix}: the body cannot be serialised as JSON`);
      return s;
    }
    case "text":
      if (typeof body !== "string") throw new TypeError(`${prefix}: a "text" body must be a string`);
      return body;
    default: {
      const view = bufferSourceView(body);
      if (view === undefined) throw new TypeError(`${prefix}: a "bytes" body must be an ArrayBuffer or ArrayBufferView`);
      return view;
    }
  }
}

const _name = internalSymbol("queueName");

// The producer: env.<BINDING>.
class Queue {
  constructor(key, name) {
    if (key !== illegalConstructorKey) illegalConstructor();
    this[_name] = name;
  }

  // send(body, { contentType, delaySeconds }): resolves once the message is
  // stored.
  send(body, options = undefined) {
    const prefix = "Failed to execute 'send' on 'Queue'";
    try {
      requiredArguments(arguments.length, 1, prefix);
      const o = toDictionary(options, prefix, "options");
      const ct = contentTypeOf(o.contentType, prefix);
      const delay = delayOf(o.delaySeconds, prefix);
      const payload = serialize(body, ct, prefix);
      return ops.op_queue_send(this[_name], ct + ":" + delay, payload);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  // sendBatch([{ body, contentType, delaySeconds }], { delaySeconds }):
  // stores every message or none is reported sent.
  sendBatch(messages, options = undefined) {
    const prefix = "Failed to execute 'sendBatch' on 'Queue'";
    try {
      requiredArguments(arguments.length, 1, prefix);
      const list = toSequence(messages, prefix, "messages");
      const o = toDictionary(options, prefix, "options");
      const batchDelay = delayOf(o.delaySeconds, prefix);
      if (list.length === 0) return Promise.resolve();
      const meta = [];
      const bodies = [];
      for (let i = 0; i < list.length; i++) {
        const m = toDictionary(list[i], prefix, `messages[${i}]`);
        const ct = contentTypeOf(m.contentType, prefix);
        const delay = m.delaySeconds === undefined ? batchDelay : delayOf(m.delaySeconds, prefix);
        meta.push(ct + ":" + delay);
        bodies.push(serialize(m.body, ct, `${prefix}: messages[${i}]`));
      }
      return ops.op_queue_send(this[_name], meta.join(","), ...bodies);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  [customInspect]() {
    return `Queue { ${this[_name]} }`;
  }
}
configureInterface(Queue);

// env.NAME of a "queue" binding (00_infra.js bindingFactory).
const queueBinding = (name) => new Queue(illegalConstructorKey, name);

// ---- consumer side: the MessageBatch of entry.queue (90_dispatch.js) ----

// Decisions, as entry.queue reports them to Go: ACK, RETRY (the consumer's
// default delay) or a delay in seconds (>= 0).
const ACK = -2;
const RETRY = -1;
const UNDECIDED = -3;

const _state = internalSymbol("queueState");
const _index = internalSymbol("queueIndex");

function retryDecision(options, prefix) {
  const o = toDictionary(options, prefix, "options");
  return o.delaySeconds === undefined ? RETRY : delayOf(o.delaySeconds, prefix);
}

// https://developers.cloudflare.com/queues/configuration/javascript-apis/#message
class Message {
  constructor(key, state, index, meta, raw) {
    if (key !== illegalConstructorKey) illegalConstructor();
    this[_state] = state;
    this[_index] = index;
    this.id = meta.id;
    this.timestamp = new Date(meta.ts);
    this.attempts = meta.attempts;
    let parsed = false;
    let body;
    // The body is decoded on first read, so a message the handler never
    // reads costs no parse (and a bad JSON body fails only its reader).
    Object.defineProperty(this, "body", {
      enumerable: true,
      get() {
        if (!parsed) {
          body = meta.ct === "json" ? JSON.parse(raw) : meta.ct === "text" ? raw : raw.buffer;
          parsed = true;
        }
        return body;
      },
    });
  }

  // The first call to ack() or retry() of a message decides it.
  ack() {
    const d = this[_state].decisions;
    if (d[this[_index]] === UNDECIDED) d[this[_index]] = ACK;
  }

  retry(options = undefined) {
    const decision = retryDecision(options, "Failed to execute 'retry' on 'Message'");
    const d = this[_state].decisions;
    if (d[this[_index]] === UNDECIDED) d[this[_index]] = decision;
  }
}
configureInterface(Message);

// https://developers.cloudflare.com/queues/configuration/javascript-apis/#messagebatch
class MessageBatch {
  constructor(key, state, queue, messages) {
    if (key !== illegalConstructorKey) illegalConstructor();
    this[_state] = state;
    this.queue = queue;
    this.messages = ObjectFreeze(messages);
  }

  // ackAll and retryAll decide every message not decided on its own; the
  // first of them wins.
  ackAll() {
    const st = this[_state];
    if (st.all === UNDECIDED) st.all = ACK;
  }

  retryAll(options = undefined) {
    const decision = retryDecision(options, "Failed to execute 'retryAll' on 'MessageBatch'");
    const st = this[_state];
    if (st.all === UNDECIDED) st.all = decision;
  }
}
configureInterface(MessageBatch);

// newQueueBatch builds the batch of one queue invocation from what Go
// passes: meta is [{ id, ts, attempts, ct }], bodies the raw bodies (strings
// for json and text, Uint8Array for bytes). result(error) gives the JSON
// text entry.queue resolves with: { d: [decision...], e?: "error" }, where
// undecided messages are acked when the handler succeeded and retried when
// it threw (error not null).
function newQueueBatch(queue, meta, bodies) {
  const state = { decisions: new Array(meta.length).fill(UNDECIDED), all: UNDECIDED };
  const messages = [];
  for (let i = 0; i < meta.length; i++) {
    messages.push(new Message(illegalConstructorKey, state, i, meta[i], bodies[i]));
  }
  const batch = new MessageBatch(illegalConstructorKey, state, queue, messages);
  function result(error) {
    const fallback = state.all !== UNDECIDED ? state.all : error === null ? ACK : RETRY;
    const d = state.decisions.map((x) => (x === UNDECIDED ? fallback : x));
    const out = { d };
    if (error !== null) out.e = describeError(error);
    return JSON.stringify(out);
  }
  return { batch, result };
}

function describeError(e) {
  try {
    if (e !== null && typeof e === "object" && typeof e.message === "string") {
      const name = typeof e.name === "string" ? e.name : "Error";
      return e.message ? `${name}: ${e.message}` : name;
    }
    return String(e);
  } catch {
    return "an exception that cannot be shown";
  }
}

return { Queue, Message, MessageBatch, newQueueBatch, queueBinding };
