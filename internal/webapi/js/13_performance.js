// performance: https://w3c.github.io/hr-time/
// The time origin is the instance's start (12_timers.js).
const {
  illegalConstructorKey,
  customInspect,
  configureInterface,
  EventTarget,
  timeOrigin,
} = k;

// https://w3c.github.io/hr-time/#sec-performance
class Performance extends EventTarget {
  constructor(key = undefined) {
    if (key !== illegalConstructorKey) throw new TypeError("Illegal constructor");
    super();
  }

  // https://w3c.github.io/hr-time/#dom-performance-now
  now() {
    checkPerformance(this);
    return ops.op_timer_now();
  }

  get timeOrigin() {
    checkPerformance(this);
    return timeOrigin;
  }

  toJSON() {
    checkPerformance(this);
    return { timeOrigin };
  }

  [customInspect](inspect) {
    return `Performance ${inspect({ timeOrigin })}`;
  }
}
configureInterface(Performance);

const performance = new Performance(illegalConstructorKey);

function checkPerformance(v) {
  if (v !== performance) throw new TypeError("Illegal invocation: not a Performance");
}

return { performance, Performance };
