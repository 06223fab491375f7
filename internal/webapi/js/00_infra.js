// Intrinsics the API layer relies on, captured before user code can replace
// them, and small helpers shared by every layer.
const ObjectFreeze = Object.freeze;
const ObjectDefineProperty = Object.defineProperty;

function webidlBrandCheck(value, brand, name) {
  if (value === null || typeof value !== "object" || !(brand in value)) {
    throw new TypeError(`Illegal invocation: not a ${name}`);
  }
}

return { ObjectFreeze, ObjectDefineProperty, webidlBrandCheck };
