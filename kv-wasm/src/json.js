// JSON text from JS values, refusing what JSON cannot hold instead of changing it silently
// (JSON.stringify drops functions and undefined, turns NaN into null, a Map into {}).
// Runs in JS because the engine's JSON.stringify is much faster than walking the value
// from wasm one property at a time.

function invalid(message) {
  const error = new Error(message);
  error.name = "InvalidValueError";
  return error;
}

function describe(raw) {
  switch (typeof raw) {
    case "number": return String(raw);
    case "bigint": return "a BigInt";
    case "function": return "a function";
    case "symbol": return "a symbol";
    case "undefined": return "undefined";
    default: {
      const name = raw.constructor && raw.constructor.name;
      return name ? `a ${name}` : "an object with a prototype";
    }
  }
}

function plain(raw) {
  switch (typeof raw) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(raw);
    case "object": {
      if (raw === null || Array.isArray(raw)) return true;
      const proto = Object.getPrototypeOf(raw);
      return (proto === Object.prototype || proto === null) && typeof raw.toJSON !== "function";
    }
    default:
      return false;
  }
}

// `this[key]` is the value before any toJSON ran, so a Date is seen as a Date.
function refuse(key, value) {
  const raw = this[key];
  if (plain(raw)) return value;
  const where = key === "" ? "the value is" : `${JSON.stringify(key)} holds`;
  throw invalid(
    `${where} ${describe(raw)}, which JSON cannot hold: store plain objects, arrays, strings, finite numbers, booleans and null`,
  );
}

export function toJson(value) {
  try {
    return JSON.stringify(value, refuse);
  } catch (error) {
    if (error instanceof Error && error.name === "InvalidValueError") throw error;
    // A cycle, or a getter that threw.
    throw invalid(`the value cannot be written as JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function invalidKey(message) {
  const error = new Error(message);
  error.name = "InvalidKeyError";
  return error;
}

// A lone surrogate would become U+FFFD on its way into wasm: the key would change.
const LONE_SURROGATE = /\p{Surrogate}/u;

export function checkKey(key) {
  if (typeof key !== "string") {
    throw invalidKey(`keys are strings, not ${key === null ? "null" : typeof key}: convert the key with String(key) first`);
  }
  if (LONE_SURROGATE.test(key)) {
    throw invalidKey("the key holds a lone UTF-16 surrogate, which is not text: repair the key first");
  }
  return key;
}

export function ownEntries(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value) && plain(value)
    ? Object.entries(value)
    : null;
}

export function report(error) {
  if (typeof globalThis.reportError === "function") globalThis.reportError(error);
  else console.error(error);
}
