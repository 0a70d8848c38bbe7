// What every example page does with the store once its bundler has loaded kv-wasm: a few
// writes and reads on IndexedDB, then the outcome in <pre id="result"> for the test to read.

export async function exercise(init, Kv, initArgument) {
  let result;
  try {
    await init(initArgument);
    const kv = await Kv.open(`bundler-example-${Date.now()}`);
    await kv.set("greeting", "hello");
    await kv.setMany({ n: 1, list: [1, 2] });
    result = {
      backend: kv.backend,
      greeting: await kv.get("greeting"),
      fallback: await kv.get("absent", 0),
      keys: await kv.keys(),
    };
    await kv.clear();
    await kv.close();
  } catch (error) {
    result = { error: `${error?.name}: ${error?.message}` };
  }
  const out = document.createElement("pre");
  out.id = "result";
  out.textContent = JSON.stringify(result);
  document.body.append(out);
}
